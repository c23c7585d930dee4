"""Reading a catalog file: a regular file of UTF-8 text of bounded size, or a message (never a
read of /dev/zero until MemoryError). Setting a shop up again never touches a shop that exists
(issue 11): `tui-pos init --demo` on a shop whose manager changed the demo PIN used to put the
demo PINs (1234/9999) and the demo prices back, unaudited, and anyone could then add a manager."""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from conftest import COLA, cli_error, cli_json, run_cli
from tui_pos.bootstrap.shop import import_catalog_file
from tui_pos.config import load_config
from tui_pos.domain.errors import BadInput

ONE_GB = 2**30
MAX_CATALOG_BYTES = 32 * 2**20  # tui_pos.bootstrap.shop.MAX_CATALOG_BYTES


def import_in_a_small_process(shop: Path, path: str) -> subprocess.CompletedProcess[str]:
    """import_catalog_file in a process that may use 1 GB at most: an endless read fails fast there
    (as MemoryError) instead of eating the machine's memory."""
    code = ("import sys; from pathlib import Path; from tui_pos.config import load_config; "
            "from tui_pos.domain.errors import BadInput; from tui_pos.bootstrap.shop import import_catalog_file\n"
            "try:\n import_catalog_file(load_config(Path(sys.argv[1])), Path(sys.argv[2]))\n"
            "except BadInput as err:\n print(err)")
    return subprocess.run([sys.executable, "-c", code, str(shop), path], capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (ONE_GB, ONE_GB)))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_not_read(shop_dir, device):
    proc = import_in_a_small_process(shop_dir, device)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{device} is not a regular file: export the catalog to a .csv file and import that"


def test_a_fifo_is_refused_without_waiting_for_a_writer(shop_dir, tmp_path):
    fifo = tmp_path / "catalog.csv"
    os.mkfifo(fifo)
    proc = import_in_a_small_process(shop_dir, str(fifo))
    assert "is not a regular file" in proc.stdout, proc.stderr


def test_binary_content_is_refused(shop_dir, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(b"barcode,name,price,tax\n1,x\x00y,1.00,A\n")
    with pytest.raises(BadInput, match="holds binary data, not CSV text"):
        import_catalog_file(load_config(shop_dir), path)


def test_a_file_past_the_size_cap_is_refused_without_reading_it_all(shop_dir, tmp_path):
    path = tmp_path / "catalog.csv"
    with path.open("wb") as out:
        out.write(b"barcode,name,price,tax\n")
        out.truncate(MAX_CATALOG_BYTES + 1)  # sparse: no disk used
    with pytest.raises(BadInput, match=r"is larger than 32 MB"):
        import_catalog_file(load_config(shop_dir), path)


# -- init on a shop that exists ------------------------------------------------------------------
MANAGER = ("--manager", "manager", "--pin", "9999")


def money_and_rights(shop: Path) -> tuple[list, list, list, int]:
    """Users (with PIN hashes), products, sales and the number of audit entries, read directly."""
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return (conn.execute("SELECT name, role, pin_hash, active FROM user ORDER BY name").fetchall(),
                conn.execute("SELECT barcode, name, price, tax_code FROM product ORDER BY barcode").fetchall(),
                conn.execute("SELECT uuid, total FROM sale ORDER BY uuid").fetchall(),
                conn.execute("SELECT count(*) FROM audit").fetchone()[0])


def test_init_demo_on_an_existing_shop_puts_back_no_pin_and_no_price(tmp_path: Path):
    shop = tmp_path / "shop"
    assert cli_json(shop, "init", "--demo")["products_imported"] == 59
    cli_json(shop, "user", "set-pin", "manager", "--new-pin", "86420135", *MANAGER)
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn, conn:
        conn.execute("UPDATE product SET price = 420 WHERE barcode = ?", (COLA,))  # the shop's own price
    before = money_and_rights(shop)

    message = cli_error(shop, "init", "--demo")
    assert "already" in message and "nothing was changed" in message, message
    assert money_and_rights(shop) == before
    # the demo manager PIN does not work; the shop's own one does
    assert cli_error(shop, "user", "add", "mallory", "--role", "manager", "--new-pin", "1111", *MANAGER) \
        .startswith("unknown user or wrong PIN")
    cli_json(shop, "user", "disable", "demo", "--manager", "manager", "--pin", "86420135")


def test_init_again_without_demo_completes_the_shop_and_changes_nothing(tmp_path: Path):
    shop = tmp_path / "shop"
    cli_json(shop, "init", "--demo")
    before = money_and_rights(shop)
    again = cli_json(shop, "init")
    assert (again["created"], again["products_imported"]) == (False, 0)
    assert money_and_rights(shop) == before


def test_the_demo_shop_is_loaded_into_an_empty_shop_and_audited(tmp_path: Path):
    """A config.toml written first (a journal elsewhere) is still an empty shop: the demo loads,
    and the audit log says who and what was added."""
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "config.toml").write_text("# the shop's own settings come later\n")
    assert cli_json(shop, "init", "--demo")["products_imported"] == 59
    entries = {(e["action"], e["subject"]) for e in cli_json(shop, "audit", "show", "--last", "100")}
    assert {("user_add", "demo"), ("user_add", "manager"), ("catalog_import", "59 products")} <= entries
    assert run_cli(shop, "audit", "verify").returncode == 0


def test_init_demo_after_the_database_was_lost_does_not_reset_the_people(tmp_path: Path):
    """The database file gone (a failed disk, a mistaken rm): the shop's people and catalog are
    still kept beside the journal, so this is no empty shop; the demo PINs must not come back."""
    shop = tmp_path / "shop"
    cli_json(shop, "init", "--demo")
    cli_json(shop, "user", "set-pin", "manager", "--new-pin", "86420135", *MANAGER)
    for name in ("pos.sqlite3", "pos.sqlite3-wal", "pos.sqlite3-shm"):
        (shop / name).unlink(missing_ok=True)
    assert "nothing was changed" in cli_error(shop, "init", "--demo")
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        assert conn.execute("SELECT count(*) FROM user").fetchone()[0] == 0


@pytest.mark.parametrize("lang, language, footer, refund_reason", [
    ("zh_CN.UTF-8", "zh_CN", "谢谢惠顾！", "商品损坏"), ("en_US.UTF-8", "en", "Thank you!", "Damaged")])
def test_a_new_shop_speaks_the_systems_language_and_writes_it_down(tmp_path, lang, language, footer, refund_reason):
    """init --demo in a Chinese locale: the screen, the reason codes, the receipt's footer and the
    demo shop's name in Chinese, and [ui] language written into config.toml (a till started by
    systemd has no locale)."""
    shop = tmp_path / "shop"
    run_cli(shop, "init", "--demo", env={"LANG": lang})
    config = load_config(shop)
    assert f'language = "{language}"' in (shop / "config.toml").read_text(encoding="utf-8")
    assert config.language == language and config.printer.footer == (footer,)
    assert config.reasons_for("refund")[0] == refund_reason
    assert (config.shop_name == "tui-pos 演示店") == (language == "zh_CN")
