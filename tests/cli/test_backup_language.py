"""`tui-pos backup`, `backup verify` and `restore` in the shop's language ([ui] language = "zh_CN"):
what was backed up, a copy that does not verify and a refused restore are said in Chinese; --json
keeps its keys and English."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import AS_DEMO, COLA, cli_json, in_chinese, open_demo_shop, run_cli

from .english import english_left


def test_backup_verify_and_a_refused_restore_in_chinese(tmp_path: Path):
    shop = open_demo_shop(tmp_path / "shop")
    cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    in_chinese(shop)
    destination = tmp_path / "backups"
    human = run_cli(shop, "backup", str(destination)).stdout
    assert human.startswith("已备份 1 笔销售和 0 个日志文件") and "已校验" in human, human
    [made] = sorted(destination.glob("*.sqlite3"))
    checked = run_cli(shop, "backup", "verify", str(made)).stdout
    assert f"{made}：正常 - 1 笔销售" in checked, checked
    assert not english_left(checked)

    data = cli_json(shop, "backup", "verify", str(made))
    assert {"ok", "problems", "sales"} <= set(data) and data["ok"] is True

    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(made.read_bytes()[:4096] + b"\0" * 4096)
    proc = run_cli(shop, "backup", "verify", str(damaged), check=False)
    assert proc.returncode == 1 and f"{damaged}：校验未通过" in proc.stdout, proc.stdout
    problems = json.loads(run_cli(shop, "backup", "verify", str(damaged), "--json", check=False).stdout)["problems"]
    assert problems and all(p.isascii() for p in problems)  # --json: the English sentences

    proc = run_cli(shop, "restore", str(damaged), "--manager", "manager", "--pin", "9999", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith(f"错误：{damaged} 校验未通过（"), proc.stderr
    assert proc.stderr.rstrip().endswith("未做任何更改"), proc.stderr
