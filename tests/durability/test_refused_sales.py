"""What a refused sale leaves behind, and what a support engineer can still run, on a real full
disk (a small tmpfs) and a data directory nobody may enter (mode 000, as a non-root user)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, open_demo_shop, run_cli
from mounts import fill, mount_tmpfs
from tests.nobody import as_nobody, nobody_shop  # noqa: F401 - a fixture

pytestmark = pytest.mark.fault

SELL = ("sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print")


def test_refused_sales_on_a_full_disk_leave_no_empty_journal_files(request, tmp_path: Path):
    shop = tmp_path / "shop"
    mount_tmpfs(request, shop, "2m")
    open_demo_shop(shop)
    before = {p: p.stat().st_size for p in shop.rglob("*.jsonl")}
    fill(shop)
    for _ in range(6):
        proc = run_cli(shop, *SELL, check=False)
        assert proc.returncode == 1 and "NOT STORED" in proc.stderr, proc.stderr
    left = {p: p.stat().st_size for p in shop.rglob("*.jsonl")}
    assert [p for p, size in left.items() if size == 0 and p not in before] == []
    assert len(left) == len(before)  # no file of any size was added by a sale that was refused


def test_a_data_directory_at_mode_000_is_diagnosed(nobody_shop: Path):
    nobody_shop.chmod(0o000)
    sell = as_nobody(nobody_shop, *SELL)
    assert sell.returncode == 1 and "Traceback" not in sell.stderr
    assert "Invalid value" not in sell.stderr
    assert "mode 0000" in sell.stderr and f"chmod 700 {nobody_shop}" in sell.stderr
    status = as_nobody(nobody_shop, "status", "--json")
    assert "Traceback" not in status.stderr, status.stderr
    facts = json.loads(status.stdout)
    assert "mode 0000" in facts["config_error"] and facts["storage"] == "failing"
    doctor = as_nobody(nobody_shop, "doctor", "--json")
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr, doctor.stderr
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["config"]["level"] == "fail" and f"chmod 700 {nobody_shop}" in checks["config"]["fix"]
    nobody_shop.chmod(0o700)  # what doctor said to do
    assert as_nobody(nobody_shop, *SELL).returncode == 0
