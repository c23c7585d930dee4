"""The fixtures of the till's UI tests: a demo shop (a copy of one made once: hashing the demo PINs
each time is slow), the app logged in on it at the checkout, and apps for snapshots (a fresh shop,
the status line's clock frozen). What the tests do with them: tests/ui/pilot.py."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytest_asyncio
from textual.scrollbar import ScrollBar

from conftest import open_demo_shop, set_config
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.ui.app import PosApp
from tui_pos.ui.widgets import status_bar

from .pilot import running

FROZEN_NOW = time.struct_time((2026, 11, 21, 9, 30, 0, 5, 325, 0))  # Saturday 2026-11-21 09:30


@pytest.fixture(scope="session")
def demo_shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("template") / "shop"
    open_demo_shop(data_dir)
    return data_dir


@pytest.fixture
def shop_dir(demo_shop_template: Path, tmp_path: Path) -> Path:
    """A fresh demo shop, its shift open (a copy of the template)."""
    return Path(shutil.copytree(demo_shop_template, tmp_path / "shop"))


@pytest_asyncio.fixture
async def pilot(shop_dir: Path):
    """The demo cashier logged in on a fresh demo shop, at the checkout."""
    async with running(shop_dir) as pilot:
        yield pilot


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """make_app(theme) -> PosApp on a fresh demo shop, clock frozen. Undoes the console theme's
    class-wide scrollbar renderer afterwards (PosApp sets it on ScrollBar itself)."""
    monkeypatch.setattr(status_bar, "time",
                        SimpleNamespace(strftime=lambda fmt, t=None: time.strftime(fmt, FROZEN_NOW)))
    monkeypatch.setattr(ScrollBar, "renderer", ScrollBar.renderer)
    tills: list[Till] = []

    def make(theme: str, language: str = "en") -> PosApp:
        data_dir = tmp_path / f"shop-{theme}-{language}"
        open_demo_shop(data_dir)
        set_config(data_dir, "ui", "theme", f'"{theme}"')
        set_config(data_dir, "ui", "language", f'"{language}"')
        till = open_till(load_config(data_dir), cashier="")
        tills.append(till)
        return PosApp(till)

    yield make
    for till in tills:
        till.close()
