"""Runs inside the umockdev harness (venv Python, LD_PRELOAD set): plays a scenario against the
emulated USB printer and prints one JSON list of step results on its last line.

usage: python usb_driver.py DATA_DIR STEPS_JSON
steps: {"cli": [args...]}   the real `tui-pos` in a subprocess (it inherits the emulated USB)
       {"sell": CODE}       what `tui-pos sell --item CODE --tender cash` does, in this process
                            (Till.pay, then the same print_after_sale): saves a process start
       {"unprinted": true}  / {"reprint": NUMBER}: what the receipts commands do, in this process
       {"set": {knob: value}} change the emulated printer (harness control socket)
       {"run_once": true}   one round of the till's print worker (PrintQueue.run_once)
       {"probe": true}      the printer's status as the status line would show it
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender
from tui_pos.printing import commands
from tui_pos.printing.printer import Printer
from tui_pos.printing.queue import PrintQueue


def control(request: dict) -> dict:
    sock = socket.socket(fileno=int(os.environ["FAKE_PRINTER_CONTROL"]))
    try:
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            reply += sock.recv(65536)
        return json.loads(reply)
    finally:
        sock.detach()


def main() -> None:
    data_dir, steps = Path(sys.argv[1]), json.loads(sys.argv[2])
    results = []
    for step in steps:
        started = time.monotonic()
        if "cli" in step:
            proc = subprocess.run([sys.executable, "-m", "tui_pos", *step["cli"]], capture_output=True, text=True,
                                  env={**os.environ, "TUI_POS_DATA_DIR": str(data_dir)}, timeout=60)
            try:
                out = json.loads(proc.stdout)
            except ValueError:
                out = proc.stdout
            result = {"rc": proc.returncode, "out": out, "stderr": proc.stderr}
        elif "sell" in step:
            config = load_config(data_dir)
            till = open_till(config, cashier="driver", keep_cart=False)
            till.scan(step["sell"])
            total = till.cart.totals(config.prices_include_tax).total
            sale = till.pay([Tender("cash", total)]).sale
            till.close()
            printed = commands.print_after_sale(config, sale.uuid)
            result = {"receipt": sale.receipt, "uuid": sale.uuid, "printed": bool(printed and printed.printed),
                      "state": printed.state if printed else None, "error": printed.error if printed else ""}
        elif "unprinted" in step:
            result = {"rows": commands.unprinted_rows(load_config(data_dir))}
        elif "reprint" in step:
            printed = commands.reprint(load_config(data_dir), step["reprint"])
            result = {"printed": printed.printed, "state": printed.state, "error": printed.error}
        elif "set" in step:
            result = control({"set": step["set"]})
        elif "run_once" in step:
            queue = PrintQueue(load_config(data_dir))
            result = {"printed": [[r.receipt, r.kind, r.state, r.error] for r in queue.run_once()],
                      "status": queue.printer.last_status.state}
            queue.close()
        elif "probe" in step:
            printer = Printer.from_config(load_config(data_dir))
            status = printer.probe()
            result = {"state": status.state, "answered": status.answered, "error": status.error}
            printer.close()
        else:
            raise SystemExit(f"unknown step {step}")
        result["seconds"] = round(time.monotonic() - started, 3)
        results.append(result)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
