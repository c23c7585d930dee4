"""Support's commands in the shop's language ([ui] language = "zh_CN" in config.toml): the human
output of status, doctor and monitor is Chinese, a problem and what to do about it too, while
--json is the same document (keys, codes and its English sentences) in every language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, cli_json, in_chinese, open_demo_shop, run_cli, set_config
from tui_pos.cli.ops import CHECK_NAMES

from .english import english_left


@pytest.fixture
def zh_shop(tmp_path: Path) -> Path:
    """A demo shop with its shift open and a sale, in Chinese."""
    shop = open_demo_shop(tmp_path / "shop")
    cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    return in_chinese(shop)


def test_status_speaks_the_shops_language_and_its_json_does_not_change(zh_shop: Path, tmp_path: Path):
    human = run_cli(zh_shop, "status").stdout
    assert "存储      正常" in human and "数据库    正常" in human and "最近销售  T1-000001" in human, human
    assert "班次      1 号班次" in human and "备份      从未" in human and "总部      未加入总部" in human, human
    assert not english_left(human), (english_left(human), human)
    zh = cli_json(zh_shop, "status")
    english = cli_json(open_demo_shop(tmp_path / "english"), "status")
    assert set(zh) == set(english) and set(zh["database"]) == set(english["database"])
    assert (zh["storage"], zh["database"]["state"], zh["hq"]["state"]) == ("ok", "ok", "off")


def test_a_storage_problem_is_said_in_chinese_by_status_and_in_english_by_its_json(zh_shop: Path):
    (zh_shop / "pos.sqlite3").rename(zh_shop / "elsewhere.sqlite3")
    human = run_cli(zh_shop, "status").stdout
    assert "数据库缺失：" in human, human  # the storage line: the problem, whole, in Chinese
    data = cli_json(zh_shop, "status")
    assert data["storage_problems"][0].startswith("database missing: ") and data["storage"] == "degraded"


def test_a_corrupt_database_with_a_sale_waiting_is_said_in_chinese_by_status(zh_shop: Path, tmp_path: Path):
    """Two storage problems are joined as Chinese joins sentences, and a schema that cannot be read is said
    to be unknown (not "None")."""
    from conftest import break_sqlite, database_write_locked

    with database_write_locked(zh_shop):
        assert cli_json(zh_shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")["stored"] == "journal"
    break_sqlite(zh_shop, tmp_path / "aside")
    lines = run_cli(zh_shop, "status").stdout.splitlines()
    [storage] = [line for line in lines if line.startswith("存储")]
    [database] = [line for line in lines if line.startswith("数据库")]
    assert "；日志中有 1 条记录" in storage and "; " not in storage, storage
    assert "结构版本 未知" in database and "None" not in database, database
    assert len(cli_json(zh_shop, "status")["storage_problems"]) == 2


def test_doctor_says_each_check_and_what_to_do_in_chinese(zh_shop: Path):
    zh_shop.chmod(0o755)
    proc = run_cli(zh_shop, "doctor", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    human = proc.stdout
    assert "失败  数据目录" in human and "权限 0755 允许其他用户访问" in human and f"-> chmod 700 {zh_shop}" in human, human
    assert "正常  数据库    quick_check 正常" in human and "警告  备份      还没有备份" in human, human
    assert "-> 请运行 'tui-pos backup'" in human or "-> 运行 'tui-pos backup'" in human, human
    assert not english_left(human), (english_left(human), human)
    data = json.loads(run_cli(zh_shop, "doctor", "--json", check=False).stdout)
    checks = {c["name"]: c for c in data["checks"]}
    assert set(data) == {"ok", "checks"} and set(checks["backup"]) == {"name", "level", "detail", "fix"}
    assert set(checks) <= set(CHECK_NAMES) and "正常  付款" in human, human  # every check named in Chinese
    assert checks["backup"]["detail"] == "no backup yet" and checks["data_dir"]["level"] == "fail"
    assert "lets other users in" in checks["data_dir"]["detail"]  # --json keeps the English sentence


def test_monitor_once_speaks_the_shops_language(zh_shop: Path):
    human = run_cli(zh_shop, "monitor", "--once").stdout
    assert "警报：" in human and "最近的销售：" in human and "进行中的销售：" in human and "收银界面未运行" in human, human
    assert not english_left(human), (english_left(human), human)
    data = cli_json(zh_shop, "monitor")
    assert {"alerts", "recent_sales", "storage", "shift"} <= set(data)
    assert all(set(a) == {"key", "level", "message", "hint"} for a in data["alerts"])


CONFIG_ENGLISH = re.compile(r"\b(?:line|must|whole|number|not|from|more|problems?|will|start|correct|defaults?)\b")


def test_a_bad_config_is_said_in_the_shops_language_by_the_till_status_and_doctor(zh_shop: Path):
    """[ui] language = "zh_CN" and another key bad: the till refuses to start, status and doctor say
    why, each in Chinese (key names as typed), while --json keeps its English sentence."""
    set_config(zh_shop, "till", "pin_attempts", "0")
    for args in ((), ("sell", *AS_DEMO, "--item", COLA, "--tender", "cash")):  # () : the till itself
        proc = run_cli(zh_shop, *args, check=False)
        assert proc.returncode == 1 and "[till] pin_attempts" in proc.stderr, proc.stderr
        assert not CONFIG_ENGLISH.findall(proc.stderr) and "Traceback" not in proc.stderr, proc.stderr
    first = run_cli(zh_shop, "status").stdout.splitlines()[0]
    assert "[till] pin_attempts" in first and not CONFIG_ENGLISH.findall(first), first
    assert ": [till] pin_attempts must be a whole number" in cli_json(zh_shop, "status")["config_error"]
    doctor = run_cli(zh_shop, "doctor", check=False)
    config_lines = doctor.stdout.split("\n")[:2]
    assert doctor.returncode == 1 and "[till] pin_attempts" in config_lines[0], doctor.stdout
    assert not CONFIG_ENGLISH.findall("\n".join(config_lines)), config_lines
    checks = json.loads(run_cli(zh_shop, "doctor", "--json", check=False).stdout)["checks"]
    assert "[till] pin_attempts must be a whole number" in checks[0]["detail"]


def test_a_config_whose_language_is_bad_too_is_said_in_the_systems_language(zh_shop: Path):
    """The [ui] language value itself is not valid: the problems are said as "auto" would, in the
    system's locale."""
    set_config(zh_shop, "ui", "language", '"zh_TW"')
    chinese = {"LANG": "zh_CN.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
    said = run_cli(zh_shop, "status", env=chinese).stdout.splitlines()[0]
    assert "[ui] language" in said and not CONFIG_ENGLISH.findall(said), said
    english = {**chinese, "LANG": "en_US.UTF-8"}
    assert "line" in run_cli(zh_shop, "status", env=english).stdout.splitlines()[0]


def test_a_printer_connection_that_cannot_be_read_is_said_in_chinese_by_doctor(zh_shop: Path):
    """A connection of a known kind but malformed passes config.toml's check and is refused when the
    printer is opened: doctor says that in the shop's language too, its --json in English."""
    set_config(zh_shop, "printer", "connection", '"usb:zz"')
    proc = run_cli(zh_shop, "doctor", check=False)
    said = [line for line in proc.stdout.splitlines() if "usb:zz" in line]
    assert proc.returncode == 1 and len(said) == 1 and "[printer]" in said[0], proc.stdout
    assert not re.findall(r"\b(?:expected|hex|in)\b", said[0]), said
    checks = {c["name"]: c for c in json.loads(run_cli(zh_shop, "doctor", "--json", check=False).stdout)["checks"]}
    assert checks["printer"]["level"] == "fail" and "usb:zz: expected usb:VID:PID in hex" in checks["printer"]["detail"]


def test_a_sale_and_the_sales_list_say_where_it_is_stored_and_its_kind_in_chinese(zh_shop: Path):
    """sell's line and the sales list: where a sale is kept and what kind it is are words of the shop's
    language, not the data's ('sqlite', 'sale'); --json keeps the data's words."""
    sold = run_cli(zh_shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print").stdout
    assert "保存于 数据库" in sold and "sqlite" not in sold, sold
    listed = run_cli(zh_shop, "sales").stdout.splitlines()
    assert len(listed) == 2 and all(line.split()[-2:] == ["数据库", "销售"] for line in listed), listed
    assert {row["stored"] for row in cli_json(zh_shop, "sales")} == {"sqlite"}
