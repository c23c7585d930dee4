"""SIGKILL a real till at each named point of the code-payment flow, against the Alipay and WeChat
Pay simulators (the real SDKs over HTTP), under the gateway faults that matter.

A child process (pay_till.py) opens the till on a real shop whose config.toml points
[payments.alipay] / [payments.wechat] at the simulator running in this process, scans an item,
starts and advances a code payment and completes the sale when paid; TUI_POS_CRASH_AT kills it
with SIGKILL at the point. Then the real CLI resolves (`tui-pos payments resolve --json`, a till
without the sale in progress) and lists (`tui-pos payments --json`), and the till opens again
as the cashier's would (the sale in progress restored, resolve at start-up puts a paid charge
back on it), completes that sale, and takes a new code payment for the next one.

What must hold, in every case (issue 15): what the simulator charged == what the till recorded
as paid, each of those carried by a stored sale or listed as "paid, sale not completed" (never
silently lost), nothing charged twice (one pay request per out_trade_no; never two charged trades
for one sale), and the next code payment works.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from conftest import COLA, WATER, cli_json, open_demo_shop
from durability.pay_till import by_code, refund_whole
from payments.paying import CODES, ahead
from payments.shop_config import point_at_simulator
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import CodePaymentRefused
from tui_pos.store.crash import PAYMENT_POINTS

CHILD = Path(__file__).with_name("pay_till.py")
HANG = 1.5  # a timed-out call waits this long at the simulator: longer than the till's 1 s timeout

# The simulator's faults that matter: charged at once; charged and the reply never comes in time;
# charged and the connection dropped; the customer confirms on the phone for a moment, then pays.
FAULTS = ("success", "timeout_after", "drop_after", "userpaying")
# Killed before any call, the fault changes nothing; killed after the outcome is durable, only
# whether that outcome came from the pay call's answer or from a query after a lost answer.
FAULTS_AT = {"payment_before_attempt": ("success",), "payment_after_attempt": ("success",),
             "payment_after_call": FAULTS, "payment_after_outcome": ("success", "timeout_after")}
# What the killed till left, before anything resolves it: (attempts, outcomes stored, pay requests sent)
LEFT_AT = {"payment_before_attempt": (0, 0, 0), "payment_after_attempt": (1, 0, 0), "payment_after_call": (1, 0, 1),
           "payment_after_outcome": (1, 1, 1)}
# Who resolves after the kill, in turn: the real CLI (`tui-pos payments resolve`, no sale in
# progress: a paid one stays "paid, sale not completed" until the till opens), or the till itself
# at start-up (its sale in progress restored: a paid one's tender goes straight back on it).
CASES = [(point, provider, fault, ("cli", "till")[i % 2]) for i, (point, provider, fault) in enumerate(
    (point, provider, fault) for point in PAYMENT_POINTS for provider in CODES for fault in FAULTS_AT[point])]


def test_every_payment_crash_point_has_cases():
    """A crash point added to the payment flow must get kill tests here."""
    assert set(FAULTS_AT) == set(LEFT_AT) == set(PAYMENT_POINTS)


@pytest.fixture(scope="module")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo shop with its shift open, made once and copied for each case."""
    return open_demo_shop(tmp_path_factory.mktemp("template") / "shop")


def shop_for(template: Path, target: Path, provider: str, settings: dict[str, Any]) -> Path:
    """A copy of the template shop whose [payments.PROVIDER] points at the simulator (keys in 0600
    files, as a real till keeps them), with short waits: each case takes a few seconds."""
    shop = target / "shop"
    shutil.copytree(template, shop)
    point_at_simulator(shop, provider, settings)
    return shop


def till_child(shop: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUI_POS_DATA_DIR": str(shop), "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("TUI_POS_CRASH_AT", None)
    if crash_at:
        env["TUI_POS_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, str(CHILD), str(shop), *args], capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL)


def query(shop: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute(sql, params).fetchall()


def mobile_tenders(shop: Path) -> dict[str, tuple[str, int]]:
    """reference (the provider's transaction id) -> (sale uuid, amount) of every stored mobile tender."""
    rows = query(shop, "SELECT sale_uuid, amount, reference FROM tender WHERE kind = 'mobile'")
    return {reference: (sale, amount) for sale, amount, reference in rows}


def assert_money_matches(shop: Path, sim: Any, listed: list[dict[str, Any]], *, completed: bool,
                         settled: bool = True) -> None:
    """The simulator's charges == the payments the till recorded as paid (listed: the payments
    list, amounts in fen); each carried by a stored sale (or listed as paid, sale not completed,
    unless `completed`); nothing charged twice; none open or unknown (if `settled`)."""
    charged = sim.sim.charged()
    paid = {p["out_trade_no"]: p for p in listed if p["state"] == "paid"}
    assert set(paid) == set(charged), (listed, charged)
    tenders = mobile_tenders(shop)
    for no, payment in paid.items():
        assert payment["charged"] == charged[no], payment
        if payment["sale_completed"]:
            assert tenders[payment["transaction_id"]] == (payment["sale_uuid"], charged[no])
        else:
            assert not completed, payment
            assert payment["paid_not_completed"], payment
    # nothing charged twice: one pay request per trade, one charged trade per sale
    pays = Counter(no for op, no in sim.sim.engine.requests if op == "pay")
    assert all(n == 1 for n in pays.values()), pays
    per_sale = Counter(p["sale_uuid"] for p in paid.values())
    assert all(n == 1 for n in per_sale.values()), per_sale
    assert not settled or [p for p in listed if p["state"] in ("open", "unknown")] == [], listed


def in_fen(listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CLI's payments list (amounts as decimal strings) with amounts in fen."""
    return [p | {k: None if p[k] is None else round(float(p[k]) * 100) for k in ("amount", "charged")}
            for p in listed]


@pytest.mark.parametrize(("point", "provider", "fault", "resolver"), CASES)
def test_sigkill_in_a_code_payment(shop_template: Path, tmp_path: Path, request: pytest.FixtureRequest, point: str,
                                   provider: str, fault: str, resolver: str):
    sim = request.getfixturevalue(f"{provider}_sim")  # AlipaySim | WeChatSim
    sim.sim.faults.pay = fault  # type: ignore[assignment]
    sim.sim.faults.hang = HANG
    sim.sim.faults.paying_for = 0.3
    shop = shop_for(shop_template, tmp_path, provider, sim.settings)
    code = CODES[provider]

    killed = till_child(shop, code, COLA, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    assert killed.stdout == "", "killed before the sale was stored"
    pays = [no for op, no in sim.sim.engine.requests if op == "pay"]
    assert (query(shop, "SELECT COUNT(*) FROM payment_attempt")[0][0],
            query(shop, "SELECT COUNT(*) FROM payment_outcome")[0][0], len(pays)) == LEFT_AT[point]
    if point == "payment_after_outcome":
        assert query(shop, "SELECT state FROM payment_outcome") == [("paid",)]

    if fault == "userpaying" and pays:  # the customer confirms on the phone while the till is down
        deadline = time.monotonic() + 10
        while not sim.sim.charged():
            assert time.monotonic() < deadline
            time.sleep(0.02)
    young = point == "payment_after_attempt"  # the kill may have left its pay on its way to the provider
    if resolver == "cli":  # resolve every attempt whose outcome is not known (no sale in progress there)
        resolved = cli_json(shop, "payments", "resolve")
        # at once, "no such trade" is not final: a pay still on its way would charge after it
        assert [p["state"] for p in resolved["still_unresolved"]] == (["open"] if young else []), resolved
        assert_money_matches(shop, sim, in_fen(cli_json(shop, "payments")), completed=False, settled=not young)

    # the till opens again as the cashier's would (later than a pay in flight could arrive): its
    # sale in progress restored, resolve at start-up puts a charge paid for that sale back on it;
    # the cashier completes the sale
    till = open_till(load_config(shop), cashier="demo", clock=ahead(30))
    try:
        till.payments.resolve()
        if resolver == "till":
            assert not till.payments.unresolved()
            assert_money_matches(shop, sim, [view.to_json() for view in till.payments.list()], completed=False)
        sale_uuid = till.cart.uuid
        assert [line.barcode for line in till.cart.lines] == [COLA], "the sale in progress is kept"
        if sim.sim.charged():
            assert till.due().left == 0 and [t.kind for t in till.cart.tenders] == ["mobile"]
        else:  # nothing charged: the cashier takes a new code payment for the same sale
            charge = by_code(till, code)
            assert charge.state == "paid", charge
        first = till.pay().sale
        assert first.uuid == sale_uuid
        # the next sale: a new code payment works
        till.scan(WATER)
        charge = by_code(till, code)
        assert charge.state == "paid", charge
        second = till.pay().sale
        listed = [view.to_json() for view in till.payments.list()]
    finally:
        till.close()

    assert_money_matches(shop, sim, listed, completed=True)
    charged = sim.sim.charged()
    assert sorted(charged.values()) == sorted([first.total, second.total])
    assert {p["sale_uuid"] for p in listed if p["state"] == "paid"} == {first.uuid, second.uuid}


def test_a_sale_paid_before_the_kill_is_never_charged_again(shop_template: Path, tmp_path: Path, alipay_sim: Any):
    """Killed after the paid outcome was stored, before its tender was on the sale: the till opens
    with that sale (no tender) and, before anything resolves it, the cashier scans the customer's
    code again. Refused (nothing recorded, nothing sent); resolve puts the payment back instead."""
    shop = shop_for(shop_template, tmp_path, "alipay", alipay_sim.settings)
    killed = till_child(shop, CODES["alipay"], COLA, crash_at="payment_after_outcome")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [(trade_no, amount)] = alipay_sim.sim.charged().items()
    till = open_till(load_config(shop), cashier="demo")
    try:
        assert till.cart.tenders == () and till.due().left == amount
        requests = list(alipay_sim.sim.engine.requests)
        with pytest.raises(CodePaymentRefused, match="already paid by code"):
            till.payments.start(CODES["alipay"])
        assert alipay_sim.sim.engine.requests == requests and query(shop, "SELECT COUNT(*) FROM payment_attempt") == [(1,)]
        till.payments.resolve()
        assert [(t.kind, t.amount) for t in till.cart.tenders] == [("mobile", amount)]
        sale = till.pay().sale
    finally:
        till.close()
    assert alipay_sim.sim.charged() == {trade_no: sale.total}


def stopped_child(shop: Path, code: str, point: str) -> subprocess.Popen[str]:
    """The till child, stopped (SIGSTOP, as Ctrl-Z would) at `point`: the test sends SIGCONT or SIGKILL."""
    env = {**os.environ, "TUI_POS_DATA_DIR": str(shop), "PYTHONPATH": os.pathsep.join(sys.path),
           "TUI_POS_STOP_AT": point}
    env.pop("TUI_POS_CRASH_AT", None)
    child = subprocess.Popen([sys.executable, str(CHILD), str(shop), code, COLA], env=env, text=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while Path(f"/proc/{child.pid}/stat").read_text().split()[2] != "T":
            assert child.poll() is None and time.monotonic() < deadline, "the till child never stopped"
            time.sleep(0.02)
    except BaseException:  # never left behind, running or stopped (SIGKILL ends a stopped process too)
        child.kill()
        print(child.communicate())
        raise
    return child


def test_a_resolve_from_another_process_never_closes_a_charge_on_its_way(shop_template: Path, tmp_path: Path,
                                                                         alipay_sim: Any):
    """`tui-pos payments resolve` runs while the till has stored its attempt and its pay is on its
    way (the provider has no such trade yet). That "no such trade" must not be taken as final: the
    pay then charges the customer, its reply is lost and the till is killed; resolve afterwards
    must find the charge (a 'cancelled, nothing was charged' recorded earlier would never be asked
    again: charged, and no sale)."""
    shop = shop_for(shop_template, tmp_path, "alipay", alipay_sim.settings)
    alipay_sim.sim.faults.pay, alipay_sim.sim.faults.hang = "timeout_after", HANG
    child = stopped_child(shop, CODES["alipay"], "payment_after_attempt")
    try:
        early = cli_json(shop, "payments", "resolve")
        assert [p["state"] for p in early["still_unresolved"]] == ["open"], early
        os.kill(child.pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while not alipay_sim.sim.charged():  # charged; its reply hangs: killed before it comes
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        child.kill()
        child.communicate()
    resolved = cli_json(shop, "payments", "resolve")
    assert resolved["still_unresolved"] == [], resolved
    assert_money_matches(shop, alipay_sim, in_fen(cli_json(shop, "payments")), completed=False)
    assert [p["state"] for p in cli_json(shop, "payments")] == ["paid"]


REFUND_POINTS = ("payment_after_attempt", "payment_after_call")  # the refund attempt durable; before / after the call


def code_paid_sale(shop: Path, code: str) -> Any:
    """A sale of one cola paid by code, stored (the till in this process)."""
    till = open_till(load_config(shop), cashier="demo")
    try:
        till.scan(COLA)
        charge = by_code(till, code)
        assert charge.state == "paid", charge
        return till.pay().sale
    finally:
        till.close()


def refund_all(shop: Path, receipt: str) -> tuple[Any, list[dict[str, Any]]]:
    """The whole sale refunded (the till in this process), and the payments list then."""
    till = open_till(load_config(shop), cashier="demo", keep_cart=False)
    try:
        refund = refund_whole(till, receipt).sale
        return refund, [view.to_json() for view in till.payments.list()]
    finally:
        till.close()


@pytest.mark.parametrize("provider", sorted(CODES))
@pytest.mark.parametrize("point", REFUND_POINTS)
def test_sigkill_in_a_code_refund(shop_template: Path, tmp_path: Path, request: pytest.FixtureRequest, point: str,
                                  provider: str):
    """Killed while refunding a sale paid by code: after resolve and the same refund asked again,
    the customer got the money back exactly once, and one stored refund carries it."""
    sim = request.getfixturevalue(f"{provider}_sim")
    shop = shop_for(shop_template, tmp_path, provider, sim.settings)
    sale = code_paid_sale(shop, CODES[provider])
    [(trade_no, amount)] = sim.sim.charged().items()
    assert amount == sale.total

    killed = till_child(shop, "--refund", sale.receipt, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    refunds_sent = [no for op, no in sim.sim.engine.requests if op == "refund"]
    assert len(refunds_sent) == (point == "payment_after_call")
    assert query(shop, "SELECT COUNT(*) FROM sale WHERE kind = 'refund'") == [(0,)], "stored only once refunded"

    resolved = cli_json(shop, "payments", "resolve")
    # killed before its call: "no such refund" is not final at once (a request on its way would refund after it)
    assert [p["state"] for p in resolved["still_unresolved"]] == (["open"] if point == "payment_after_attempt"
                                                                 else []), resolved
    listed = in_fen(cli_json(shop, "payments"))
    if point == "payment_after_call":  # refunded at the provider, the refund sale not stored yet: listed
        [pending] = [p for p in listed if p["kind"] == "refund"]
        assert (pending["state"], pending["paid_not_completed"]) == ("refunded", True)

    refund, listed = refund_all(shop, sale.receipt)  # the cashier asks the same refund again
    assert refund.total == -sale.total
    assert sim.sim.charged() == {trade_no: 0}, "given back exactly once"
    assert [no for op, no in sim.sim.engine.requests if op == "refund"] == [trade_no], "one refund request"
    [trade] = sim.sim.engine.trades.values()
    assert list(trade.refunded.values()) == [sale.total]
    refunds = [p for p in listed if p["kind"] == "refund"]
    assert [(p["state"], p["sale_completed"]) for p in refunds if p["state"] == "refunded"] == [("refunded", True)]
    assert {p["sale_uuid"] for p in refunds if p["state"] == "refunded"} == {refund.uuid}
    assert [p for p in listed if p["state"] in ("open", "unknown")] == []
    assert query(shop, "SELECT COUNT(*) FROM sale WHERE kind = 'refund'") == [(1,)]
