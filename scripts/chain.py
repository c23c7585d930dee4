#!/usr/bin/env python3
"""A chain on this machine, in one command (`make chain`): a throwaway PostgreSQL as HQ, one shop,
two tills (T1, T2, demo shops) enrolled in it and syncing to it, every step done with the real
`tui-pos` commands a shop would run (printed as they run).

    .venv/bin/python scripts/chain.py [--dir DIR] [--sell-every SECONDS] [--rounds N]

Every --sell-every seconds (default 5) each till sells one sale (`tui-pos sell`) and syncs
(`tui-pos sync`), and HQ's view of the tills is printed (`tui-pos hq tills`). With --sell-every 0
the tills are left alone: open one in another terminal (`tui-pos --data-dir DIR/t1`; the till's
sync worker pushes what it sells). Ctrl-C (or --rounds N done) stops HQ and removes its cluster;
the tills' data directories stay in DIR until the next run replaces them.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pgcluster import THROWAWAY, Cluster, Unavailable, new_cluster  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MARKER = ".tui-pos-chain-demo"  # a directory holding it is the demo's and may be replaced
TILLS = ("T1", "T2")
SHOP = "S1"
SALE_ITEMS = {"T1": ["6900000000014", "6900000000021x2"], "T2": ["6900000000113", "6900000000014x3"]}
CASHIER = {"TUI_POS_USER": "demo", "TUI_POS_PIN": "1234"}  # the demo shop's cashier


def tui_pos() -> list[str]:
    installed = Path(sys.executable).parent / "tui-pos"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "tui_pos"]


def show(args: list[str]) -> str:
    shown = ["tui-pos" if a == tui_pos()[0] else a for a in args if a not in tui_pos()[1:]]
    return " ".join(shlex.quote(a) for a in shown)


def run(args: list[str], env: dict[str, str] | None = None, quiet: bool = False, check: bool = True
        ) -> subprocess.CompletedProcess[str]:
    if not quiet:
        print(f"$ {show(args)}", flush=True)
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)
    if check and done.returncode != 0:
        raise SystemExit(f"chain: {show(args)} failed ({done.returncode}): "
                         f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    if not quiet and done.stdout.strip():
        print("  " + done.stdout.strip().replace("\n", "\n  "), flush=True)
    return done


def prepare_dir(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise SystemExit(f"chain: {directory} exists and is not a chain demo's: give another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, mode=0o700, exist_ok=True)
    (directory / MARKER).write_text("made by scripts/chain.py (make chain); replaced by its next run\n")


def write_config(data_dir: Path, till_id: str) -> None:
    """The till's id before anything is recorded (every record carries it): config.toml first, then init."""
    data_dir.mkdir(mode=0o700)
    (data_dir / "config.toml").write_text(f'[till]\nid = "{till_id}"\n\n[shop]\nname = "Demo Street, till {till_id}"\n',
                                          encoding="utf-8")


def set_up(cluster: Cluster, directory: Path) -> tuple[str, dict[str, str]]:
    """HQ made and two tills enrolled: the admin's DSN (without its password) and the env it needs."""
    import psycopg

    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "hq"')
    admin = f"host=127.0.0.1 port={cluster.port} dbname=hq user=postgres"
    secret = {"PGPASSWORD": cluster.password}  # kept off command lines, as the README says
    cli = tui_pos()
    run([*cli, "hq", "init", admin], env=secret)
    run([*cli, "hq", "shop", "add", SHOP, "--name", "Demo Street", "--dsn", admin], env=secret)
    for till in TILLS:
        data_dir = directory / till.lower()
        write_config(data_dir, till)
        run([*cli, "--data-dir", str(data_dir), "init", "--demo"])
        run([*cli, "--data-dir", str(data_dir), "shift", "open", "--float", "100"], env=CASHIER)
        run([*cli, "--data-dir", str(data_dir), "hq", "join", admin, "--shop", SHOP], env=secret)
    return admin, secret


def has_sync() -> bool:
    return run([*tui_pos(), "sync", "--help"], quiet=True, check=False).returncode == 0


def one_round(directory: Path, admin: str, secret: dict[str, str], sync: bool, number: int) -> None:
    cli = tui_pos()
    for till in TILLS:
        data_dir = str(directory / till.lower())
        items = [a for code in SALE_ITEMS[till] for a in ("--item", code)]
        sold = run([*cli, "--data-dir", data_dir, "sell", *items, "--tender", "cash", "--no-print", "--json"],
                   env=CASHIER, quiet=True, check=False)
        receipt = json.loads(sold.stdout).get("receipt", "?") if sold.returncode == 0 else sold.stderr.strip()
        line = f"[{number}] {till} sold {receipt}"
        if sync:
            synced = run([*cli, "--data-dir", data_dir, "sync", "--json"], quiet=True, check=False)
            if synced.returncode == 0:
                done = json.loads(synced.stdout)
                line += (f"; sync: pushed {done['pushed']}, pending {done['pending']}, HQ has its commits up to "
                         f"{done['high_water']} ({done['state']})")
            else:
                line += f"; sync: {synced.stderr.strip()}"
        print(line, flush=True)
    tills = run([*cli, "hq", "tills", "--dsn", admin], env=secret, quiet=True, check=False)
    print("  HQ: " + (tills.stdout.strip() or tills.stderr.strip()).replace("\n", "\n      "), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "chain-demo", help="the tills' data directories")
    parser.add_argument("--sell-every", type=float, default=5.0, help="seconds between rounds (0: the tills are left alone)")
    parser.add_argument("--rounds", type=int, default=0, help="stop after N rounds (default: until Ctrl-C)")
    args = parser.parse_args()
    directory = args.dir.resolve()
    prepare_dir(directory)
    try:
        cluster = new_cluster(THROWAWAY, prefix="tui-pos-chain-pg-")
    except Unavailable as why:
        print(f"chain: {why}", file=sys.stderr)
        return 1
    for stop in (signal.SIGTERM, signal.SIGHUP):  # killed, or its terminal closed: HQ's cluster removed too
        signal.signal(stop, lambda *_: sys.exit(0))
    try:
        admin, secret = set_up(cluster, directory)
        sync = has_sync()
        print(f"\nHQ is PostgreSQL on 127.0.0.1:{cluster.port} (database hq); try, in another terminal:\n"
              f"  export TUI_POS_HQ_DSN='{admin}' PGPASSWORD='{cluster.password}'\n"
              f"  tui-pos hq tills\n"
              f"  tui-pos --data-dir {directory / 't1'}          # till T1 (the TUI; --sell-every 0 leaves it to you)\n"
              + ("" if sync else "  (this tui-pos has no 'sync' command yet: the tills only sell)\n")
              + "Ctrl-C stops HQ.\n", flush=True)
        if args.sell_every <= 0:
            signal.pause()  # the tills are the user's: until Ctrl-C
        number = 0
        while args.rounds == 0 or number < args.rounds:
            number += 1
            one_round(directory, admin, secret, sync, number)
            if args.rounds == 0 or number < args.rounds:
                time.sleep(args.sell_every)
    except KeyboardInterrupt:
        print("\nchain: stopping HQ", flush=True)
    finally:
        cluster.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
