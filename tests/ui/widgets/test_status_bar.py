"""The status line's HQ part (tui_pos/ui/widgets/status_bar.py, issue 13): a till that joined an HQ
shows how its sync is doing ("HQ synced 12 s ago", "HQ offline, 7 waiting"), and follows the sync
worker as soon as it says something changed (from its own thread, without waiting for the UI);
a till without HQ shows nothing of it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tui_pos.domain.sync import SyncState
from tui_pos.i18n import use_language
from tui_pos.ui.widgets.status_bar import sync_label

from ..pilot import running, screen_text, wait_for

NOW = "2026-12-04T14:05:30.000+00:00"


def test_the_words_for_each_state_in_english_and_chinese():
    cases = [SyncState("synced", 0, "2026-12-04T14:05:18.000+00:00"), SyncState("synced", 2, "2026-12-04T14:00:30.000+00:00"),
             SyncState("offline", 7, "2026-12-04T14:00:30.000+00:00"), SyncState("offline", 0),
             SyncState("conflict", 1, None, "HQ refused the push: ..."), SyncState("synced", 0, "not a time")]
    assert [sync_label(s, NOW) for s in cases] == ["HQ synced 12 s ago", "HQ synced 5 min ago, 2 waiting",
                                                   "HQ offline, 7 waiting", "HQ offline", "HQ PROBLEM, 1 waiting",
                                                   "HQ synced"]
    use_language("zh_CN")
    assert [sync_label(s, NOW) for s in cases] == ["总部已同步（12 秒前）", "总部已同步（5 分钟前），2 条待上传", "总部离线，7 条待上传", "总部离线",
                       "总部同步出错，1 条待上传", "总部已同步"]


class FakeSyncer:
    """Stands for the sync worker (tests/sync/test_worker.py tests the real one against PostgreSQL)."""

    def __init__(self, on_change: Callable[[SyncState], None] | None):
        self.on_change = on_change
        self.state = SyncState("offline", 0, None, "not synced with HQ yet")
        self.running = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def wake(self) -> None:
        pass

    def status(self) -> SyncState:
        return self.state

    def change(self, state: SyncState) -> None:
        """As the worker does: from its own thread."""
        self.state = state
        assert self.on_change is not None
        thread = threading.Thread(target=self.on_change, args=(state,))
        thread.start()
        thread.join()


@pytest.mark.asyncio
async def test_a_till_without_hq_shows_nothing_of_it(pilot):
    assert pilot.app.till.sync_status() is None
    assert "HQ" not in screen_text(pilot, "#status")


@pytest.mark.asyncio
async def test_the_status_line_follows_the_sync_worker(shop_dir, monkeypatch):
    from tui_pos.app.till import Till

    made: list[FakeSyncer] = []

    def start_sync(till: Till, on_change=None) -> None:  # what bootstrap's factory gives a till with [hq]
        till._make_syncer = lambda changed: made.append(FakeSyncer(changed)) or made[-1]
        original_start_sync(till, on_change)

    original_start_sync = Till.start_sync
    monkeypatch.setattr(Till, "start_sync", start_sync)
    async with running(shop_dir) as pilot:
        syncer = made[0]
        assert syncer.running
        assert "HQ offline |" in screen_text(pilot, "#status")
        syncer.change(SyncState("offline", 7, None, "HQ cannot be reached"))
        await wait_for(pilot, lambda: "HQ offline, 7 waiting" in screen_text(pilot, "#status"))
        ago = (datetime.now(UTC) - timedelta(seconds=12)).isoformat()
        syncer.change(SyncState("synced", 0, ago, "", 40))
        await wait_for(pilot, lambda: "HQ synced" in screen_text(pilot, "#status"))
        assert "s ago" in screen_text(pilot, "#status")  # 12 s, or a little more on a loaded machine
        syncer.change(SyncState("conflict", 2, ago, "HQ refused the push: ..."))
        await wait_for(pilot, lambda: "HQ PROBLEM, 2 waiting" in screen_text(pilot, "#status"))
    assert not syncer.running  # closing the till stopped it


@pytest.mark.asyncio
async def test_a_till_that_joined_hq_shows_its_real_sync(hq, shop_dir):
    """The real worker, started by the till UI (bootstrap's factory), against a real PostgreSQL; then
    HQ out of reach (the same till pointed at a port nobody listens on) shows as offline."""
    from hq_cluster import enrol
    from pgcluster import free_port
    from tui_pos.hq.enrol import with_hq_section

    enrol(hq, shop_dir)
    async with running(shop_dir) as pilot:
        await wait_for(pilot, lambda: "HQ synced" in screen_text(pilot, "#status"), timeout=60)
    config = shop_dir / "config.toml"
    config.write_text(with_hq_section(config.read_text(), f"host=127.0.0.1 port={free_port()} dbname=hq user=x", "S1"))
    async with running(shop_dir) as pilot:
        await wait_for(pilot, lambda: pilot.app.till.sync_status().last_error.startswith("HQ cannot be reached"),
                       timeout=60)
        await wait_for(pilot, lambda: "HQ offline" in screen_text(pilot, "#status"))
