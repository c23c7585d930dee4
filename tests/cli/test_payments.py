"""`tui-pos payments [--unresolved] [--json]` and `tui-pos payments resolve` (tui_pos/cli/payments.py),
the real CLI in a subprocess, the till's gateway made from config.toml and pointed at the Alipay
simulator (tests/payments/alipay_sim.py): a charge whose answer was lost is listed open, resolve
finds it paid, and the till's next start puts the tender back on its sale."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import AS_DEMO, COLA, cli_json, run_cli, set_config
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.payments import out_trade_no

ALIPAY_CODE = "287654321098765432"


def configure_alipay(shop_dir: Path, settings: dict) -> None:
    """[payments.alipay] as a shop would set it: the keys in files of their own, 0600."""
    keys = shop_dir / "keys"
    keys.mkdir(mode=0o700)
    for name in ("private_key", "alipay_public_key"):
        path = keys / f"{name}.pem"
        path.write_text(settings[name])
        os.chmod(path, 0o600)
    set_config(shop_dir, "payments", "timeout", "1.5")
    with (shop_dir / "config.toml").open("a") as config:
        config.write(f'\n[payments.alipay]\napp_id = "{settings["app_id"]}"\nprivate_key_file = "keys/private_key.pem"\n'
                     f'alipay_public_key_file = "keys/alipay_public_key.pem"\ngateway = "{settings["gateway"]}"\n')


def test_a_lost_answer_is_listed_open_resolved_paid_and_the_sale_finished_at_the_next_start(shop_dir, alipay_sim):
    configure_alipay(shop_dir, alipay_sim.settings)
    assert cli_json(shop_dir, "payments") == []
    assert run_cli(shop_dir, "payments").stdout.strip() == "No code payments yet."

    alipay_sim.sim.faults.pay = "timeout_after"  # charged, and the answer never comes
    till = open_till(load_config(shop_dir), cashier="test")  # its gateway made from config.toml
    till.scan(COLA)
    sale_uuid = till.cart.uuid
    charge = till.payments.advance(till.payments.start(ALIPAY_CODE))
    assert charge.state == "unknown" and not charge.done
    till.close()  # the till dies before it asks again
    trade = out_trade_no(sale_uuid, 1)
    assert alipay_sim.charged() == {trade: 350}

    [listed] = cli_json(shop_dir, "payments", "--unresolved")
    assert {k: listed[k] for k in ("sale_uuid", "kind", "provider", "out_trade_no", "amount", "state",
                                   "transaction_id", "reason", "sale_completed")} == {
        "sale_uuid": sale_uuid, "kind": "pay", "provider": "alipay", "out_trade_no": trade, "amount": "3.50",
        "state": "open", "transaction_id": "", "reason": "", "sale_completed": False}
    assert listed["uuid"] and listed["at"] and ALIPAY_CODE not in str(listed)
    human = run_cli(shop_dir, "payments", "--unresolved").stdout
    assert "open" in human and trade in human and "3.50" in human

    alipay_sim.sim.faults.pay = "success"
    resolved = cli_json(shop_dir, "payments", "resolve")
    [looked] = resolved["looked_at"]
    assert (looked["state"], looked["sale_completed"], resolved["still_unresolved"]) == ("paid", False, [])
    assert looked["transaction_id"]
    assert "paid, sale not completed" in run_cli(shop_dir, "payments").stdout
    assert [p["uuid"] for p in cli_json(shop_dir, "payments", "--unresolved")] == [listed["uuid"]]

    till = open_till(load_config(shop_dir), cashier="test")  # the till's start: its sale gets the tender back
    try:
        assert till.cart.uuid == sale_uuid
        till.payments.resolve()
        assert [(t.kind, t.amount, t.reference) for t in till.cart.tenders] == [
            ("mobile", 350, looked["transaction_id"])]
        till.pay()
    finally:
        till.close()
    assert cli_json(shop_dir, "payments", "--unresolved") == []
    [done] = cli_json(shop_dir, "payments")
    assert (done["state"], done["sale_completed"]) == ("paid", True)
    assert alipay_sim.charged() == {trade: 350}  # charged once, in one stored sale


def test_resolve_with_nothing_to_do_and_a_key_file_open_to_others_is_one_line(shop_dir, alipay_sim):
    assert run_cli(shop_dir, "payments", "resolve").stdout.strip() == "No code payment was waiting to be resolved."
    configure_alipay(shop_dir, alipay_sim.settings)
    os.chmod(shop_dir / "keys" / "private_key.pem", 0o644)
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        till.scan(COLA)
        try:
            till.payments.start(ALIPAY_CODE)
        except Exception as err:  # noqa: BLE001 - what the cashier reads is the point
            said = str(err)
        else:
            raise AssertionError("a key file others can read was used")
    finally:
        till.close()
    assert "can be read by others" in said and "chmod 600" in said
    assert "PRIVATE KEY" not in said
    assert cli_json(shop_dir, "payments") == []


def test_a_bad_payments_setting_is_one_line_naming_the_key(shop_dir):
    with (shop_dir / "config.toml").open("a") as config:
        config.write('\n[payments.wechat]\nmchid = "1900000000"\n')
    proc = run_cli(shop_dir, "payments", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "[payments] wechat" in proc.stderr and "needs appid" in proc.stderr


def test_sell_takes_a_payment_code_as_a_tender(shop_dir, wechat_sim):
    settings = wechat_sim.settings
    keys = shop_dir / "keys"
    keys.mkdir(mode=0o700)
    for name in ("private_key", "apiv3_key", "public_key"):
        (keys / name).write_text(settings[name])
        os.chmod(keys / name, 0o600)
    set_config(shop_dir, "payments", "timeout", "1.5")
    with (shop_dir / "config.toml").open("a") as config:
        config.write("\n[payments.wechat]\n" + "".join(
            f'{key} = "{settings[key]}"\n' for key in ("mchid", "appid", "cert_serial_no", "public_key_id", "gateway"))
            + "".join(f'{name}_file = "keys/{name}"\n' for name in ("private_key", "apiv3_key", "public_key")))
    wechat_sim.sim.faults.pay = "userpaying"
    wechat_sim.sim.faults.paying_for = 1.0
    sold = cli_json(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash:1", "--tender",
                    "code:134567890123456789", "--no-print")
    assert sold["total"] == "3.50" and sold["paid"] == "3.50"
    [paid] = cli_json(shop_dir, "payments")
    assert (paid["state"], paid["amount"], paid["sale_completed"]) == ("paid", "2.50", True)
    assert sum(wechat_sim.sim.charged().values()) == 250

    wechat_sim.sim.faults.pay = "fail"
    refused = run_cli(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "code:134567890123456789",
                      "--no-print", check=False)
    assert refused.returncode == 1 and "Not paid" in refused.stderr and "Traceback" not in refused.stderr
    assert "134567890123456789" not in refused.stderr + refused.stdout
    assert [p["state"] for p in cli_json(shop_dir, "payments")] == ["paid", "failed"]
    assert len(cli_json(shop_dir, "sales")) == 1


def test_resolve_is_refused_while_the_till_runs_which_settles_them_itself(shop_dir):
    """Two processes settling one payment could store two outcomes (the till's "paid" and the
    CLI's "closed" of a trade whose pay was still on its way): the running till settles its own."""
    from tui_pos.ops.instance import TillInstanceLock

    with TillInstanceLock(shop_dir):
        proc = run_cli(shop_dir, "payments", "resolve", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"the till is running on {shop_dir.resolve()} (pid {os.getpid()})" in proc.stderr
    assert "settles code payments itself" in proc.stderr
    assert run_cli(shop_dir, "payments", "resolve").returncode == 0  # stopped: resolved here
