"""The currency of stored records is fixed once sales (or a shift's float) are stored: a changed
[shop] exponent would revalue every stored amount (10.50 read as 1.050, or 1050). Real CLI, real
database, config.toml edited as a shop owner would."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import AS_DEMO, COLA, cli_json, run_cli
from tests.ops.helpers import doctor

SELL = ("sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print")


def set_shop(data_dir: Path, key: str, value: str) -> None:
    config = data_dir / "config.toml"
    text = config.read_text()
    text, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
    assert n == 1
    config.write_text(text)


def test_changing_the_exponent_after_sales_is_refused_and_doctor_says_so(shop_dir: Path):
    sale = cli_json(shop_dir, *SELL)
    assert sale["total"] == "3.50"
    set_shop(shop_dir, "exponent", "3")
    for args in (SELL, ("sales",)):
        proc = run_cli(shop_dir, *args, check=False)
        assert proc.returncode == 1, proc.stdout  # before: sold and listed 3.50 as 0.350
        message = proc.stderr.strip()
        assert message.count("\n") == 0 and "exponent 2" in message and "exponent = 2" in message, message
    code, checks = doctor(shop_dir)
    assert code == 1 and checks["config"]["level"] == "fail" and "exponent 2" in checks["config"]["detail"]
    set_shop(shop_dir, "exponent", "2")  # what the message says to do
    assert [s["total"] for s in cli_json(shop_dir, "sales")] == ["3.50"]
    assert doctor(shop_dir)[1]["config"]["level"] == "ok"


def test_changing_the_currency_code_after_sales_is_refused(shop_dir: Path):
    cli_json(shop_dir, *SELL)
    set_shop(shop_dir, "currency", '"USD"')
    proc = run_cli(shop_dir, *SELL, check=False)
    assert proc.returncode == 1 and "CNY" in proc.stderr


def test_before_anything_is_stored_the_currency_may_still_change(tmp_path: Path):
    shop = tmp_path / "shop"
    run_cli(shop, "init")
    run_cli(shop, "status")
    set_shop(shop, "exponent", "3")
    assert run_cli(shop, "status", check=False).returncode == 0
    assert doctor(shop)[1]["config"]["level"] == "ok"
