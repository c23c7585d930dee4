#!/usr/bin/env python3
"""Code payments on this machine, in one command (`make pay-demo`): the demo shop with Alipay and
WeChat Pay set up against local simulators of their gateways (tests/payments/: each speaks its
provider's wire format and signatures, so the real SDKs run unmodified), then the till.

    .venv/bin/python scripts/pay_demo.py [--dir DIR] [--paying-for SECONDS] [--fault FAULT] [--sell CODE]

On the payment screen, scan or type a payment code: 134567890123456789 (WeChat) or
284567890123456789 (Alipay); any code of the same shape works. --paying-for N: the customer takes
N seconds to confirm on the phone (the till counts down). --fault: what the gateways do to the
charge (fail, timeout_after, drop_after, http500...: tests/payments/simulator.py Faults.pay).
When the till exits, what the simulators charged is printed beside what the till recorded
(`tui-pos payments`): the two agree. --sell CODE: no till screen; one sale paid by that code
with the CLI (`tui-pos sell --tender code:CODE`), as a script would. DIR is replaced on each run (a directory this script made).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import typing
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
ENV = dict(os.environ)  # the shop's: the tests' conftest (set_config's home) sets the tests' own locale

from payments.alipay_sim import AlipaySim  # noqa: E402
from payments.shop_config import point_at_simulator  # noqa: E402
from payments.simulator import Faults, PayFault  # noqa: E402
from payments.wechat_sim import WeChatSim  # noqa: E402

MARKER = ".tui-pos-pay-demo"  # a directory holding it is the demo's and may be replaced
CODES = {"wechat": "134567890123456789", "alipay": "284567890123456789"}
ITEM = "6900000000014"  # the demo catalog's cola, 3.50
CASHIER = {"TUI_POS_USER": "demo", "TUI_POS_PIN": "1234"}  # the demo shop's cashier
TIMINGS = {"wait": "60", "query_every": "2", "reverse_after": "15", "timeout": "5"}


def tui_pos() -> list[str]:
    return [str(Path(sys.executable).parent / "tui-pos")]


def new_shop(shop: Path) -> None:
    if shop.exists():
        if not (shop / MARKER).exists():
            sys.exit(f"{shop} exists and is not a demo directory of this script: choose another --dir")
        shutil.rmtree(shop)
    subprocess.run([*tui_pos(), "--data-dir", str(shop), "init", "--demo"], check=True, stdout=subprocess.DEVNULL,
                   env=ENV)
    (shop / MARKER).touch()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "demo-pay-shop")
    parser.add_argument("--paying-for", type=float, default=0.0, metavar="SECONDS",
                        help="the customer confirms on the phone for this long")
    parser.add_argument("--fault", choices=typing.get_args(PayFault), default=None,
                        help="what the gateways do to a charge (default: success)")
    parser.add_argument("--sell", metavar="CODE", help="sell one item paid by this code with the CLI, no till screen")
    args = parser.parse_args()

    shop = args.dir.resolve()
    new_shop(shop)
    pay: PayFault = args.fault or ("userpaying" if args.paying_for else "success")
    # SIGTERM (kill, a closing session) as SystemExit: the till child is killed (subprocess.run does
    # on any exception) and the simulators closed, as on every other way out
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with ExitStack() as stack:  # each simulator closed however this ends, even if the next fails to start
        alipay = AlipaySim(Faults(pay=pay, paying_for=args.paying_for))
        stack.callback(alipay.close)
        wechat = WeChatSim(Faults(pay=pay, paying_for=args.paying_for))
        stack.callback(wechat.close)
        sims = {"alipay": alipay, "wechat": wechat}
        for provider, sim in sims.items():
            point_at_simulator(shop, provider, sim.settings, **TIMINGS)
        print(f"Demo shop with code payments: {shop}")
        for provider, sim in sims.items():
            print(f"  {provider} gateway simulator at {sim.url}: try the code {CODES[provider]}")
        if args.sell:  # as a script would: a shift opened, then the sale
            subprocess.run([*tui_pos(), "--data-dir", str(shop), "shift", "open", "--float", "100"],
                           env={**ENV, **CASHIER}, check=True, stdout=subprocess.DEVNULL)
            till = subprocess.run([*tui_pos(), "--data-dir", str(shop), "sell", "--item", ITEM, "--tender",
                                   f"code:{args.sell}", "--no-print"], env={**ENV, **CASHIER})
        else:
            print("Log in as demo (PIN 1234), scan an item, go to payment (F10) and scan a code. Starting the till...")
            till = subprocess.run([*tui_pos(), "--data-dir", str(shop)], env=ENV)
        charged = {no: f"{Decimal(fen) / 100:.2f}" for sim in sims.values() for no, fen in sim.sim.charged().items()}
    recorded = subprocess.run([*tui_pos(), "--data-dir", str(shop), "payments", "--json"], capture_output=True,
                              text=True, env=ENV)
    print("Charged at the simulators:", json.dumps(charged, sort_keys=True))
    if recorded.returncode == 0:
        paid = {row["out_trade_no"]: row["amount"] for row in json.loads(recorded.stdout) if row["state"] == "paid"}
        print("Recorded paid by the till:", json.dumps(paid, sort_keys=True))
    return till.returncode


if __name__ == "__main__":
    sys.exit(main())
