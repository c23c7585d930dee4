#!/usr/bin/env python3
"""Receipt rendering benchmark (issue: receipts on USB ESC/POS printers).

    .venv/bin/python scripts/bench_receipt.py [--runs N] [--lines N]

Figures:
- CPU time (time.process_time) to render a 30-line receipt with a QR code, sale record ->
  layout -> ESC/POS bytes: p50/p95/max over --runs renders after a warm-up; target <= 20 ms.
  Native QR (GS ( k: the printer draws it) is the default; the image QR (qr_native = false,
  drawn here with qrcode + Pillow) is reported too.
- The first receipt of a process, python-escpos import included (cold start of printing).
- Start-up: importing the core, the CLI and the UI (fresh interpreters) must not import
  python-escpos, Pillow, qrcode or pyusb; they are imported when printing is first needed.
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without install

from benchlib import pct  # noqa: E402  (scripts/ is on sys.path when a script runs)

TARGET_MS = 20.0
HEAVY = ("escpos", "PIL", "qrcode", "barcode", "usb", "yaml")
START_UP = {
    "core (tui_pos.app.till, store)": "import tui_pos.app.till, tui_pos.bootstrap.shop, tui_pos.store.ledger",
    "CLI (tui_pos.cli)": "import tui_pos.cli",
    "UI (tui_pos.ui.app)": "import tui_pos.ui.app",
    "printing package (queue, worker, commands)": "import tui_pos.printing.commands, tui_pos.printing.worker",
}


def sale_record(lines: int) -> dict:
    """A cash sale of `lines` lines with long mixed Chinese/Latin names."""
    sale_lines = [
        {"line_no": i, "barcode": f"69{i:011d}", "name": f"商品 {i} 可口可乐 Coca-Cola 330ml" if i % 2 else f"Café crème {i}",
         "qty": 1 + i % 3, "unit_price": 100 * i, "line_discount": 10 if i % 5 == 0 else 0, "order_discount": 0,
         "tax_code": "A" if i % 2 else "B", "rate_bp": 1300 if i % 2 else 900, "tax": 10 * i, "total": 0,
         "voided": False}
        for i in range(1, lines + 1)
    ]
    for line in sale_lines:
        line["total"] = line["qty"] * line["unit_price"] - line["line_discount"]
    total = sum(line["total"] for line in sale_lines)
    return {"uuid": "0b8e0d4c-1111-4222-8333-944455556666", "receipt": "T1-000123", "till_id": "T1", "seq": 123,
            "cashier": "demo", "opened_at": "2026-11-21T06:01:00.000+00:00",
            "completed_at": "2026-11-21T06:03:04.000+00:00", "currency": "CNY", "tax_included": True,
            "lines": sale_lines, "tenders": [{"kind": "cash", "amount": total + 1000, "reference": ""},
                                             {"kind": "mobile", "amount": 0 + 1, "reference": "4200001234567890123456789012"}],
            "gross": total + sum(l["line_discount"] for l in sale_lines),
            "discount": sum(l["line_discount"] for l in sale_lines), "tax": sum(l["tax"] for l in sale_lines),
            "total": total, "rounding": 0, "paid": total + 1001, "change": 1001}


def bench_render(runs: int, lines: int, native: bool) -> dict:
    from tui_pos.printing.layout import ReceiptOptions, receipt_layout
    from tui_pos.printing.render import render

    options = ReceiptOptions(columns=32, chinese=True, shop_name="好运便利店", address=("上海市南京路 1 号",),
                             footer=("谢谢惠顾",), qr_native=native)
    record = sale_record(lines)
    for _ in range(5):
        render(receipt_layout(record, options, drawer=True))
    samples = []
    for _ in range(runs):
        start = time.process_time()
        data = render(receipt_layout(record, options, drawer=True))
        samples.append((time.process_time() - start) * 1000)
    return {"p50": pct(samples, 0.5), "p95": pct(samples, 0.95), "max": max(samples), "bytes": len(data)}


def cold_first_receipt(lines: int) -> dict:
    code = (
        "import json, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'scripts')!r})\n"
        "from bench_receipt import sale_record\n"
        "from tui_pos.printing.layout import ReceiptOptions, receipt_layout\n"
        "c0, w0 = time.process_time(), time.perf_counter()\n"
        "from tui_pos.printing.render import render\n"
        f"render(receipt_layout(sale_record({lines}), ReceiptOptions(), drawer=True))\n"
        "print(json.dumps({'cpu_ms': (time.process_time() - c0) * 1000, 'wall_ms': (time.perf_counter() - w0) * 1000}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout)


def start_up(statement: str) -> dict:
    code = (
        "import json, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "t = time.perf_counter()\n"
        f"{statement}\n"
        "ms = (time.perf_counter() - t) * 1000\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print(json.dumps({'ms': ms, 'heavy': heavy}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        return {"ms": None, "heavy": [], "error": proc.stderr.strip().splitlines()[-1]}
    return json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--lines", type=int, default=30)
    args = parser.parse_args()

    print(f"Receipt rendering: {args.lines}-line receipt with a QR code, 58 mm, GBK, CPU per receipt "
          f"({args.runs} runs after warm-up)")
    for native in (True, False):
        r = bench_render(args.runs if native else max(args.runs // 4, 10), args.lines, native)
        verdict = "OK" if r["p95"] <= TARGET_MS else "MISSED"
        label = "native QR (GS ( k) " if native else "image QR (Pillow)  "
        target = f"target <= {TARGET_MS:.0f} ms: {verdict}" if native else "(qr_native = false)"
        print(f"  {label} p50 {r['p50']:6.2f} ms  p95 {r['p95']:6.2f} ms  max {r['max']:6.2f} ms  "
              f"{r['bytes']} bytes   {target}")
    cold = cold_first_receipt(args.lines)
    print(f"  first receipt of a process (python-escpos import included): CPU {cold['cpu_ms']:.0f} ms, "
          f"wall {cold['wall_ms']:.0f} ms")
    print("Start-up imports (fresh interpreter; python-escpos, Pillow, qrcode, pyusb must be absent):")
    for name, statement in START_UP.items():
        r = start_up(statement)
        if r.get("error"):
            print(f"  {name:45s} not measured: {r['error']}")
            continue
        verdict = "OK" if not r["heavy"] else f"IMPORTS {', '.join(r['heavy'])}"
        print(f"  {name:45s} {r['ms']:6.0f} ms  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
