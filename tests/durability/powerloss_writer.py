"""The writer that test_power_loss.py cuts the power under; prints READY, then one line per
acknowledged write, flushed as soon as the write call returned:

  till DATA_DIR      sells through the Till API, as the till does: `ACK <uuid> <receipt> <stored>`
  till DATA_DIR stdin  the same, one sale per line `sell` read; a line `replay` replays the
                     journal as the till's background replay does (`REPLAYED <json>`)
  plain DB SYNC      bare `INSERT; COMMIT` in WAL mode with synchronous=SYNC: `ACK <id> - sqlite`
"""

import itertools
import json
import sqlite3
import sys
import uuid
from pathlib import Path


def till(data_dir: str, pace: str = "loop") -> None:
    from tui_pos.bootstrap.till import open_till
    from tui_pos.config import load_config
    from tui_pos.domain.tender import Tender

    till = open_till(load_config(Path(data_dir)), cashier="powerloss")
    print("READY", flush=True)
    for command in sys.stdin if pace == "stdin" else itertools.repeat("sell"):
        if command.strip() == "replay":
            print(f"REPLAYED {json.dumps(till.replay().__dict__)}", flush=True)
            continue
        till.scan("6900000000014")  # cola 3.50
        till.scan("6900000000113", 2)  # noodles 2 x 4.50
        paid = till.pay([Tender("cash", 2000)])
        print(f"ACK {paid.sale.uuid} {paid.sale.receipt} {paid.stored}", flush=True)
    till.close()


def plain(db: str, sync: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    print("READY", flush=True)
    while True:
        sid = uuid.uuid4().hex
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO sale (uuid) VALUES (?)", (sid,))
        conn.execute("COMMIT")
        print(f"ACK {sid} - sqlite", flush=True)


if __name__ == "__main__":
    {"till": till, "plain": plain}[sys.argv[1]](*sys.argv[2:])
