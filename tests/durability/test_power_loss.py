"""Power cuts under the real product: no acknowledged sale may be lost, the database stays sound.

The whole data directory (database + journal) sits on lazyfs.py, a FUSE passthrough that keeps
written data in memory until fsync. A writer process sells through the Till API and prints
`ACK` after each pay() returned; at a random moment the writer and the FUSE daemon are killed and
the mount dropped, so every write the product did not fsync is gone, as after a power cut.
A SIGKILL alone cannot catch a missing fsync (the page cache survives it); this can.

Three kinds of cut: SQLite healthy; SQLite unusable from the start (every sale journaled);
SQLite's fsync failing for a while mid-run (COMMIT errors with an unknown outcome, failover to
the journal), then healing, with `tui-pos replay` run beside the till before the cut. After
each cut the backing directory is checked as found, then recovered with the real
`tui-pos replay`. One more cut pins the unknown-outcome-then-replay case exactly, and a plain
SQLite writer shows why the product needs synchronous=FULL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from conftest import AS_DEMO, WATER, cli_json, open_demo_shop, run_cli
from tui_pos.store import db as product_db

HERE = Path(__file__).resolve().parent
LAZYFS = HERE / "lazyfs.py"
WRITER = HERE / "powerloss_writer.py"
CUTS = 21  # 7 of each kind
SEED = int(os.environ.get("POWERLOSS_SEED", "1121"))
MODES = ("sqlite", "journal", "failover")


def fuse_missing() -> str | None:
    if os.geteuid() != 0:
        return "power-loss tests mount FUSE: run as root"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse in this machine"
    if shutil.which("fusermount3") is None:
        return "fusermount3 missing: apt-get install fuse3 libfuse3-3"
    try:
        import mfusepy  # noqa: F401  (loads libfuse3 through ctypes)
    except (ImportError, OSError) as err:
        return f"mfusepy unusable ({err}): pip install mfusepy, apt-get install libfuse3-3"
    return None


_FUSE_MISSING = fuse_missing()
needs_fuse = pytest.mark.skipif(_FUSE_MISSING is not None, reason=str(_FUSE_MISSING))


class LazyRig:
    """A backing directory on a lazyfs mount; run() starts a writer, cut() is the power loss."""

    def __init__(self, base: Path):
        self.back, self.mnt, self.ctl = base / "back", base / "mnt", base / "ctl"
        self.mnt.mkdir()
        self.ctl.mkdir()
        self.fs: subprocess.Popen | None = None
        self.writer: subprocess.Popen | None = None
        self.acks: list[list[str]] = []
        self.errors = base / "writer.stderr"

    def mount(self) -> None:
        for switch in self.ctl.iterdir():
            switch.unlink()
        self.fs = subprocess.Popen([sys.executable, str(LAZYFS), str(self.back), str(self.mnt), str(self.ctl)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.ismount(self.mnt):
            assert self.fs.poll() is None, f"lazyfs did not start: {self.fs.stderr.read().decode()}"
            assert time.monotonic() < deadline, "lazyfs did not mount within 10 s"
            time.sleep(0.01)

    def run(self, *args: str) -> None:
        """Start the writer and return once it is ready to write (its ACK lines are collected)."""
        self.acks, self.answers = [], []
        ready = threading.Event()
        with open(self.errors, "wb") as err:
            self.writer = subprocess.Popen([sys.executable, str(WRITER), *args], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=err, text=True)

        def read(out=self.writer.stdout, acks=self.acks, answers=self.answers) -> None:
            for line in out:
                if line == "READY\n":
                    ready.set()
                elif line.startswith("ACK ") and line.endswith("\n"):  # a torn last line was not sent
                    acks.append(line.split()[1:])
                    answers.append(acks[-1])
                elif line.startswith("REPLAYED "):
                    answers.append(json.loads(line.split(" ", 1)[1]))

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(20):
            self.shutdown()
            pytest.fail(f"writer not ready: {self.errors.read_text()}")

    def wait_for_first_ack(self, timeout: float = 30) -> None:
        """The writer has acknowledged a sale: on a busy machine its first one can take longer
        than the random wait before a cut, and a cut before any sale proves nothing."""
        deadline = time.monotonic() + timeout
        while not self.acks:
            assert self.writer.poll() is None, f"the writer died: {self.errors.read_text()}"
            assert time.monotonic() < deadline, f"no sale acknowledged within {timeout} s"
            time.sleep(0.01)

    def command(self, line: str) -> list[str]:
        """With a writer started with `stdin`: send `sell` or `replay`, return its answer."""
        before = len(self.answers)
        self.writer.stdin.write(line + "\n")
        self.writer.stdin.flush()
        deadline = time.monotonic() + 10
        while len(self.answers) == before:
            assert self.writer.poll() is None, f"the writer died: {self.errors.read_text()}"
            assert time.monotonic() < deadline, f"no answer to {line!r} within 10 s"
            time.sleep(0.01)
        return self.answers[-1]

    def switch(self, name: str, only: str) -> None:
        """Turn a lazyfs fault on, for paths containing `only` (written atomically)."""
        (self.ctl / ".tmp").write_text(only)
        (self.ctl / ".tmp").rename(self.ctl / name)

    def cut(self) -> list[list[str]]:
        """Power loss: the writer dies, then the FUSE daemon holding the unsynced data."""
        alive = self.writer.poll() is None
        self.writer.send_signal(signal.SIGKILL)
        self.writer.wait()
        self.reader.join(5)
        self.fs.send_signal(signal.SIGKILL)
        self.fs.wait()
        subprocess.run(["umount", "-l", str(self.mnt)], capture_output=True)
        assert not os.path.ismount(self.mnt), "umount -l failed"
        assert alive, f"the writer died before the cut: {self.errors.read_text()}"
        return list(self.acks)

    def shutdown(self) -> None:
        for proc in (self.writer, self.fs):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        if os.path.ismount(self.mnt):
            subprocess.run(["umount", "-l", str(self.mnt)], capture_output=True)


@pytest.fixture
def rig(tmp_path: Path):
    rig = LazyRig(tmp_path)
    yield rig
    rig.shutdown()


@pytest.fixture(scope="module")
def template_shop(tmp_path_factory) -> Path:
    """One demo shop, copied fresh for every cut (init is slower than a copy)."""
    shop = tmp_path_factory.mktemp("template") / "shop"
    open_demo_shop(shop)
    return shop


def sqlite_sales(path: Path) -> tuple[dict[str, list[str]], str]:
    """uuid -> receipts stored (a list, so that a duplicate would show), and integrity_check."""
    with closing(sqlite3.connect(path)) as conn:
        found: dict[str, list[str]] = {}
        for uuid, receipt in conn.execute("SELECT uuid, receipt FROM sale"):
            found.setdefault(uuid, []).append(receipt)
        return found, conn.execute("PRAGMA integrity_check").fetchone()[0]


def journal_sales(journal: Path) -> dict[str, str]:
    """uuid -> receipt of every complete line that authenticates, read by the documented format
    (`v2 <n> <prev> <first 32 hex of HMAC-SHA256(key, name, n, prev, json)> <json>`, the key in
    the data directory's journal.key), not by the product's reader. The key must survive the cut."""
    found: dict[str, str] = {}
    key_file = journal.parent / "journal.key"
    if not key_file.exists():
        return found
    key = bytes.fromhex(key_file.read_text().strip())
    for path in sorted(journal.glob("*.jsonl")):
        for line in path.read_bytes().split(b"\n")[:-1]:  # the last piece is empty or a torn tail
            version, n, prev, mac, payload = line.split(b" ", 4)
            signed = f"{path.name}\n{int(n)}\n{prev.decode()}\n".encode() + payload
            if version == b"v2" and hmac.new(key, signed, hashlib.sha256).hexdigest()[:32].encode() == mac:
                record = json.loads(payload)
                found[record["uuid"]] = record["receipt"]
    return found


def check_after_cut(back: Path, acks: list[list[str]], template: Path,
                    mode: str) -> tuple[dict[str, int], list[str]]:
    """Every acknowledged sale where its ACK said, then exactly once in SQLite after replay."""
    problems: list[str] = []
    lost: set[str] = set()
    # 1. As found after the power cut, before any recovery code has run.
    journaled = journal_sales(back / "journal")
    if mode == "journal":  # the garbage database stays garbage: put the shop's database back
        for name in ("pos.sqlite3", "pos.sqlite3-wal", "pos.sqlite3-shm"):
            (back / name).unlink(missing_ok=True)
        shutil.copy2(template / "pos.sqlite3", back / "pos.sqlite3")
    stored, integrity = sqlite_sales(back / "pos.sqlite3")
    if integrity != "ok":
        problems.append(f"integrity_check after the cut: {integrity}")
    for uuid, receipt, where in acks:
        in_sqlite = stored.get(uuid, [None])[0]  # a journaled sale may have been replayed already
        found = in_sqlite if where == "sqlite" else journaled.get(uuid, in_sqlite)
        if found != receipt:
            problems.append(f"acknowledged sale {receipt} ({uuid}, {where}) lost in the cut")
            lost.add(uuid)
    # 2. Recovery by the real CLI: replay, then every acknowledged sale exactly once.
    replay = cli_json(back, "replay")
    if replay["error"] or replay["remaining"] or replay["quarantined"]:
        problems.append(f"replay: {replay}")
    stored, replayed_integrity = sqlite_sales(back / "pos.sqlite3")
    if replayed_integrity != "ok":
        problems.append(f"integrity_check after replay: {replayed_integrity}")
    for uuid, receipt, _ in acks:
        if stored.get(uuid) != [receipt]:
            problems.append(f"after replay, sale {uuid} is {stored.get(uuid)}, acknowledged as {receipt}")
            if uuid not in stored:
                lost.add(uuid)
    if list((back / "journal").glob("*.jsonl")):
        problems.append("journal files left after replay")
    # 3. The next sale continues the numbering: no acknowledged receipt number is reused.
    highest = max((int(r.split("-")[1]) for rs in stored.values() for r in rs), default=0)
    following = cli_json(back, "sell", *AS_DEMO, "--item", WATER, "--tender", "cash")
    if following["receipt"] != f"T1-{highest + 1:06d}" or following["receipt"] in {a[1] for a in acks}:
        problems.append(f"next sale got {following['receipt']} after T1-{highest:06d}")
    journaled_acks = sum(a[2] == "journal" for a in acks)
    if mode != "sqlite" and journaled_acks == 0:
        problems.append("nothing was journaled: the fault did not bite")
    stats = dict(acked=len(acks), journaled=journaled_acks, lost=len(lost),
                 integrity_failures=(integrity != "ok") + (replayed_integrity != "ok"))
    return stats, problems


@pytest.mark.fault
@needs_fuse
def test_power_cuts_lose_no_acknowledged_sale(rig: LazyRig, template_shop: Path):
    """21 power cuts at random moments: 0 acknowledged sales lost, integrity ok, receipts unique."""
    rng = random.Random(SEED)
    totals = dict(cuts=0, acked=0, journaled=0, lost=0, integrity_failures=0)
    problems = []
    for cut in range(CUTS):
        mode = MODES[cut % len(MODES)]
        shutil.rmtree(rig.back, ignore_errors=True)
        shutil.copytree(template_shop, rig.back)
        if mode == "journal":  # SQLite unusable from the start: every sale goes to the journal
            (rig.back / "pos.sqlite3").write_bytes(b"not a database\n" * 300)
        rig.mount()
        rig.run("till", str(rig.mnt))
        rig.wait_for_first_ack()
        if mode == "failover":  # SQLite's fsync fails for a while (COMMIT outcome unknown), then
            time.sleep(rng.uniform(0.1, 0.3))  # heals, and `tui-pos replay` runs beside the till
            rig.switch("eio_fsync", only="pos.sqlite3")
            time.sleep(rng.uniform(0.1, 0.3))
            (rig.ctl / "eio_fsync").unlink()
            healed = run_cli(rig.mnt, "replay", "--json", check=False)
            if healed.returncode != 0:
                problems.append(f"cut {cut} (failover): replay on the healed disk failed: {healed.stderr}")
            time.sleep(rng.uniform(0.0, 0.2))
        else:
            time.sleep(rng.uniform(0.2, 0.8))
        stats, found = check_after_cut(rig.back, rig.cut(), template_shop, mode)
        problems += [f"cut {cut} ({mode}): {p}" for p in found]
        totals["cuts"] += 1
        for key, value in stats.items():
            totals[key] += value
    print(f"\npower loss (product, seed {SEED}): cuts={totals['cuts']} acked={totals['acked']} "
          f"journaled={totals['journaled']} lost={totals['lost']} "
          f"integrity_failures={totals['integrity_failures']}")
    assert totals["acked"] >= CUTS, "too few sales to prove anything"
    assert not problems, f"{len(problems)} problems, first ones:\n" + "\n".join(problems[:10])


@pytest.mark.fault
@needs_fuse
def test_sale_with_unknown_commit_outcome_survives_replay_and_power_cut(rig: LazyRig, template_shop: Path):
    """A COMMIT whose fsync failed can leave the sale in unsynced WAL frames that later readers
    see. The till's replay that then finds it "already present" inserts nothing, so its COMMIT
    syncs nothing: it must still make that sale durable before retiring its journal line."""
    shutil.copytree(template_shop, rig.back)
    rig.mount()
    rig.run("till", str(rig.mnt), "stdin")
    assert rig.command("sell")[2] == "sqlite"
    rig.switch("eio_fsync", only="pos.sqlite3")
    assert rig.command("sell")[2] == "journal"  # COMMIT failed, outcome unknown: journaled
    (rig.ctl / "eio_fsync").unlink()  # the disk heals; the till replays while it keeps running
    replay = rig.command("replay")
    assert replay["error"] == "" and replay["remaining"] == 0
    stats, problems = check_after_cut(rig.back, rig.cut(), template_shop, "failover")
    print(f"\npower loss (unknown COMMIT outcome, replay, cut): replay={replay} {stats}")
    assert not problems, problems


def plain_writer_losses(rig: LazyRig, sync: str, cuts: int, rng: random.Random) -> tuple[int, int, int]:
    """Cut the power under a bare WAL writer with synchronous=sync: (acked, lost, bad integrity)."""
    acked = lost = bad = 0
    for _ in range(cuts):
        shutil.rmtree(rig.back, ignore_errors=True)
        rig.back.mkdir()
        with closing(sqlite3.connect(rig.back / "plain.db")) as conn:  # schema made durable first
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE sale (uuid TEXT PRIMARY KEY)")
        rig.mount()
        rig.run("plain", str(rig.mnt / "plain.db"), sync)
        time.sleep(rng.uniform(0.2, 0.8))
        acks = rig.cut()
        stored, integrity = sqlite_sales_plain(rig.back / "plain.db")
        acked += len(acks)
        lost += sum(a[0] not in stored for a in acks)
        bad += integrity != "ok"
    return acked, lost, bad


def sqlite_sales_plain(path: Path) -> tuple[set[str], str]:
    with closing(sqlite3.connect(path)) as conn:
        present = {r[0] for r in conn.execute("SELECT uuid FROM sale")}
        return present, conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.fault
@needs_fuse
@pytest.mark.parametrize("sync", ["NORMAL", "FULL"])
def test_wal_synchronous_setting_decides_power_cut_losses(rig: LazyRig, sync: str):
    """Why the product uses synchronous=FULL: on the same lazy disk a WAL writer with NORMAL loses
    acknowledged commits at a power cut (nothing is synced until a checkpoint); FULL loses none."""
    acked, lost, bad = plain_writer_losses(rig, sync, cuts=3, rng=random.Random(SEED))
    print(f"\npower loss (plain WAL+{sync}): cuts=3 acked={acked} lost={lost} integrity_failures={bad}")
    assert acked > 0 and bad == 0
    if sync == "NORMAL":
        assert lost > 0, "WAL+NORMAL lost nothing: the lazy disk did not drop unsynced writes"
    else:
        assert lost == 0


def test_product_opens_sqlite_in_wal_full(tmp_path: Path):
    """The setting the comparison above shows to be necessary is the one the product uses."""
    conn = product_db.connect(tmp_path / "x.sqlite3", busy_timeout_ms=100)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # 2 = FULL
    finally:
        conn.close()
