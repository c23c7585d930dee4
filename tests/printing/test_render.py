"""Receipt rendering: sale record -> layout -> ESC/POS bytes, checked by decoding the bytes with
an independent interpreter (escpos_decode.py) and by a few byte-exact golden files.

Widths are measured on the bytes: in GBK and on a single-byte code page one byte is one column
of Font A, so a line's byte count is its printed width, with no width function involved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_pos.domain.money import Currency
from tui_pos.printing.layout import COPY_MARK, ReceiptOptions, receipt_layout
from tui_pos.printing.render import render

from .escpos_decode import Decoded, decode
from .sales import MOBILE_REF, UUID_1, card_sale, long_sale, mixed_sale

GOLDEN = Path(__file__).parent / "golden"
SHANGHAI = timezone(timedelta(hours=8))


def options(**changes) -> ReceiptOptions:
    base = dict(columns=32, chinese=True, shop_name="好运便利店", address=("上海市南京路 1 号",), tax_id="91310000MA1K",
                footer=("谢谢惠顾 Thank you!",), tz=SHANGHAI)
    return ReceiptOptions(**{**base, **changes})


def receipt(sale: dict, copy: bool = False, drawer: bool = False, **opts) -> Decoded:
    return decode(render(receipt_layout(sale, options(**opts), copy=copy, drawer=drawer)))


def assert_fits(decoded: Decoded, columns: int) -> None:
    too_wide = [(line.text, line.columns) for line in decoded.lines if line.columns > columns]
    assert not too_wide, f"lines wider than {columns} columns: {too_wide}"


def test_chinese_58mm_receipt_reads_as_expected():
    """The whole 58 mm receipt, line by line as a person reads it off the paper, with the
    amounts worked out by hand in sales.py (CJK characters are two columns: the right
    column of amounts stays aligned at column 32)."""
    d = receipt(mixed_sale(), drawer=True)
    assert d.texts == [
        "好运便利店",
        "上海市南京路 1 号",
        "Tax ID 91310000MA1K",
        "-" * 32,
        "Receipt                T1-000123",
        "2026-11-21 14:03    Cashier demo",  # the shop's form: local time to the minute (issue 16)
        "-" * 32,
        "可口可乐 330ml",
        "  2 x 3.50 A                7.00",
        "  Discount                 -0.50",
        "Café Crème latte",
        "  1 x 12.00 A              12.00",
        "康师傅红烧牛肉面",
        "  1 x 4.50 B                4.50",
        "-" * 32,
        "Order discount             -1.00",
        "TOTAL                    ￥22.00",
        "Cash                       20.00",
        "Mobile                      3.00",
        "  Ref",
        "    " + MOBILE_REF,
        "Change                      1.00",
        "-" * 32,
        "Tax included",
        "  A 13% on 15.66            2.04",
        "  B 9% on 3.94              0.36",
        "谢谢惠顾 Thank you!",
    ]
    assert_fits(d, 32)
    by_text = {line.text: line for line in d.lines}
    assert by_text["TOTAL                    ￥22.00"].columns == 32  # ￥ is 2 columns, 2 bytes
    assert by_text["TOTAL                    ￥22.00"].tall and by_text["好运便利店"].tall
    assert by_text["好运便利店"].align == "center" and by_text["谢谢惠顾 Thank you!"].align == "center"
    assert d.events == [("init",), ("cjk_on",), ("drawer", 0, 50, 50), ("qr_size", 5),
                        ("qr", f"T1-000123 {UUID_1}"), ("qr_print",), ("feed", 1), ("feed", 6), ("cut", "full")]


def test_chinese_lines_are_encoded_by_python_escpos_itself_as_gb18030(monkeypatch):
    """Issue 16: a line with Chinese in it goes through python-escpos's text() (its GB18030 path),
    a line without (TOTAL ￥22.00) through the same codec here; the bytes are GB18030 either way,
    and every one of them is also GBK (what GBK-only firmware prints)."""
    from tui_pos.printing._escpos import escpos

    through_escpos: list[str] = []
    real_text = escpos().Escpos.text
    monkeypatch.setattr(escpos().Escpos, "text", lambda self, txt: through_escpos.append(txt) or real_text(self, txt))
    layout = receipt_layout(mixed_sale(), options())
    data = render(layout)
    chinese = [item.text for item in layout.items if isinstance(getattr(item, "text", None), str)
               and any("\u4e00" <= c <= "\u9fa5" for c in item.text)]
    assert chinese and [t.rstrip("\n") for t in through_escpos] == chinese
    for line in layout.lines():
        if not line.startswith("[QR"):
            assert line.strip().encode("gb18030") in data and line.encode("gb18030") == line.encode("gbk")


def test_receipt_arithmetic_adds_up_on_paper():
    """Read the amounts back off the paper: items minus discounts is the total, tenders minus
    change is the total, and the tax lines add up to the sale's tax (2.40)."""
    d = receipt(mixed_sale())
    amount = lambda text: round(float(text.split()[-1].lstrip("￥")) * 100)  # noqa: E731
    items = [amount(t) for t in d.texts if t.startswith("  ") and " x " in t]
    discounts = [amount(t) for t in d.texts if "Discount" in t or "discount" in t]
    total = next(amount(t) for t in d.texts if t.startswith("TOTAL"))
    assert sum(items) + sum(discounts) == total == 2200
    tenders = [amount(t) for t in d.texts if t.split()[:1] in (["Cash"], ["Mobile"])]
    change = next(amount(t) for t in d.texts if t.startswith("Change"))
    assert sum(tenders) - change == total
    taxes = [amount(t) for t in d.texts if t.startswith("  A ") or t.startswith("  B ")]
    assert sum(taxes) == 240


def test_voided_lines_are_not_printed():
    d = receipt(mixed_sale())
    assert not any("农夫山泉" in t for t in d.texts)


@pytest.mark.parametrize("columns", [32, 42, 48])
@pytest.mark.parametrize("chinese", [True, False], ids=["gbk", "codepage"])
def test_every_line_fits_the_paper(columns, chinese):
    """58 mm (32), TM-T88 (42) and 80 mm (48) columns, GBK and code-page printers: a 30-line
    receipt with long mixed CJK/Latin names and a 28-digit reference never overflows."""
    sale = long_sale(30)
    sale["tenders"] = [{"kind": "mobile", "amount": sale["total"], "reference": MOBILE_REF * 2}]
    sale["change"] = 0
    d = receipt(sale, copy=True, columns=columns, chinese=chinese)
    assert_fits(d, columns)
    assert len([t for t in d.texts if " x " in t]) == 30
    # the 56-digit reference is wrapped, never cut
    assert MOBILE_REF * 2 in "".join(t.strip() for t in d.texts)


names = st.text(alphabet=st.sampled_from(list("可口乐牛肉面（）、：abcXYZ éèüßñ ￥¥0123456789-×·") + ["😀", "\t", "ｗ"]),
                min_size=0, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, shop=names, columns=st.sampled_from([32, 42, 48]), chinese=st.booleans())
def test_any_name_fits_and_nothing_printable_is_lost(name, shop, columns, chinese):
    """Whatever a product or shop is called, no line is wider than the paper, and in Chinese
    mode every character of the name is printed, as itself when GBK has it (wrapping only
    moves it to the next line)."""
    sale = mixed_sale()
    sale["lines"][0]["name"] = name
    d = receipt(sale, columns=columns, chinese=chinese, shop_name=shop or "x")
    assert_fits(d, columns)
    if chinese:  # GBK characters as they are; ñ ß -> n ?; anything else -> ?
        expected = [c if _gbk(c) else "n" if c == "ñ" else "?" for c in name.replace("¥", "￥") if not c.isspace()]
        rule = "-" * columns  # the items start after the second rule (a long shop name wraps above it)
        start = d.texts.index(rule, d.texts.index(rule) + 1) + 1
        end = next(i for i, t in enumerate(d.texts) if t.startswith("  2 x 3.50"))
        printed = [c for c in "".join(d.texts[start:end]) if not c.isspace()]
        assert printed == expected


def _gbk(char: str) -> bool:
    try:
        char.encode("gbk")
        return True
    except UnicodeEncodeError:
        return False


def test_latin_printer_gets_code_pages_not_gb18030():
    """On a code-page printer accented Latin prints through a code page (ESC t) and CJK, which
    it cannot print, becomes one '?' per character instead of GB18030 bytes (what python-escpos
    sends for any string containing a CJK character)."""
    d = receipt(mixed_sale(), chinese=False, shop_name="Boulangerie Zoë")
    assert ("cjk_on",) not in d.events and d.kinds("codepage")
    assert "Café Crème latte" in d.texts
    assert "Boulangerie Zoë" in d.texts
    assert "???? 330ml" in d.texts  # 可口可乐: four characters, four '?', four columns
    assert "TOTAL                     ¥22.00" in d.texts  # ￥ folded to the code-page yen
    assert_fits(d, 32)


def test_copy_is_marked_top_and_bottom_and_never_kicks_the_drawer_by_itself():
    d = receipt(card_sale(), copy=True)
    assert d.texts[0] == COPY_MARK and d.texts[-1] == COPY_MARK
    assert not d.kinds("drawer")
    original = receipt(card_sale())
    assert COPY_MARK not in original.texts


def test_card_sale_has_reference_and_no_change_line():
    d = receipt(card_sale(), columns=48)
    assert "Card" + " " * 39 + "12.00" in d.texts
    assert "  Ref" + " " * 37 + "AUTH77" in d.texts
    assert not any(t.startswith("Change") for t in d.texts)
    assert "  3 x 4.00 B" + " " * 31 + "12.00" in d.texts
    assert d.texts[5].endswith("Cashier Zoe")  # GBK has no ë: the accent goes, the letter stays


def test_tax_exclusive_prices_print_the_tax_before_the_total():
    """Prices before tax: 3 x 4.00 = 12.00 plus 9 % = 1.08, total 13.08."""
    sale = card_sale(tax_included=False, tax=108, total=1308, paid=1308)
    sale["lines"][0].update(tax=108, total=1308)
    sale["tenders"][0]["amount"] = 1308
    d = receipt(sale)
    i = d.texts.index("Tax                         1.08")
    assert d.texts[i + 1] == "TOTAL                    ￥13.08"
    assert "Tax" in d.texts and "  B 9% on 12.00             1.08" in d.texts


def test_cash_rounding_is_shown_with_what_was_due():
    sale = mixed_sale(rounding=-3, total=2203, paid=2300, change=100)
    d = receipt(sale)
    assert "Cash rounding              -0.03" in d.texts
    assert "Due                      ￥22.00" in d.texts


@pytest.mark.parametrize("template, payload", [
    ("https://r.example.cn/e/{uuid}?n={receipt}", f"https://r.example.cn/e/{UUID_1}?n=T1-000123"),
    ("{till} {receipt} {total}", "T1 T1-000123 22.00"),
    ("{no_such_key}", f"T1-000123 {UUID_1}"),  # a bad template must not cost the receipt
])
def test_qr_payload_follows_the_template(template, payload):
    assert receipt(mixed_sale(), qr=template).kinds("qr") == [("qr", payload)]


def test_no_qr_and_no_cut_when_configured_off():
    d = receipt(mixed_sale(), qr="", cut=False)
    assert not d.kinds("qr") and not d.kinds("cut")


def test_printer_without_cutter_profile_only_feeds():
    """python-escpos profiles decide the cut: the POS-5890 has no cutter."""
    d = receipt(mixed_sale(), profile="POS-5890")
    assert not d.kinds("cut") and ("feed", 6) in d.events


def test_image_qr_prints_nothing_on_stdout(capfd):
    """qr_native=false sends the QR as a raster image; python-escpos print()s a warning there
    (the default profile has no paper width), which would draw over a terminal UI."""
    d = receipt(mixed_sale(), qr_native=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert d.kinds("image") and not d.kinds("qr")
    assert_fits(d, 32)


def test_importing_printing_is_cheap_and_escpos_leaves_no_trace(tmp_path):
    """Importing the printing package (as the UI and the CLI do at start-up) loads neither
    python-escpos nor Pillow nor pyusb; rendering then does, adds no root logging handler
    (python-escpos calls logging.basicConfig() at import) and leaks no temporary directory."""
    code = (
        "import json, logging, sys, tempfile, os\n"
        "import tui_pos.printing.commands, tui_pos.printing.worker, tui_pos.printing.queue\n"
        "before = sorted(m for m in sys.modules if m.split('.')[0] in ('escpos', 'PIL', 'usb', 'qrcode'))\n"
        "tmp = set(os.listdir(tempfile.gettempdir()))\n"
        "from tui_pos.printing.layout import ReceiptOptions, receipt_layout\n"
        "from tui_pos.printing.render import render\n"
        "sys.path.insert(0, '.')\n"
        "from tests.printing.sales import mixed_sale\n"
        "data = render(receipt_layout(mixed_sale(), ReceiptOptions()))\n"
        "after = sorted(m for m in sys.modules if m.split('.')[0] in ('escpos', 'PIL'))\n"
        "print(json.dumps({'before': before, 'escpos': 'escpos.escpos' in after, 'pil': 'PIL' in after,\n"
        "  'handlers': len(logging.getLogger().handlers), 'bytes': len(data),\n"
        "  'new_tmp': sorted(set(os.listdir(tempfile.gettempdir())) - tmp)}))\n"
    )
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                          cwd=Path(__file__).parents[2])
    result = json.loads(proc.stdout)
    assert result["before"] == []
    assert result["escpos"] and result["pil"] and result["bytes"] > 500  # it really rendered
    assert result["handlers"] == 0
    assert result["new_tmp"] == []
    assert list((tmp_path / "cache" / "tui-pos" / "escpos").glob("*.capabilities.pickle"))


GOLDEN_CASES = {
    "cash_58mm_gbk_drawer": lambda: render(receipt_layout(mixed_sale(), options(), drawer=True)),
    "card_80mm_codepage_copy": lambda: render(receipt_layout(
        card_sale(), options(columns=48, chinese=False, shop_name="Boulangerie Zoë", address=("12 rue de la Paix",),
                             footer=("Merci !",)), copy=True)),
    "cash_42col_gbk_image_qr": lambda: render(receipt_layout(
        mixed_sale(), options(columns=42, qr_native=False, profile="TM-T88V", currency=Currency()))),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_bytes(name):
    """Byte-exact ESC/POS for three reviewed receipts (decoded and checked by eye when made).
    A change here changes what every printer prints: review the decoded diff, then regenerate
    with UPDATE_GOLDEN=1."""
    data = GOLDEN_CASES[name]()
    path = GOLDEN / f"{name}.bin"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"missing golden file {path}: run with UPDATE_GOLDEN=1 and review it"
    expected = path.read_bytes()
    if data != expected:
        assert decode(data).texts == decode(expected).texts, "the printed text changed"
        assert data == expected, "same text, different commands"


@pytest.mark.parametrize("columns", [32, 48], ids=["58mm", "80mm"])
def test_a_chinese_receipt_on_paper_at_58_and_80_mm(columns):
    """Issue 16, read back from the bytes: Chinese labels (合计, 实收现金, 找零, 收银员) are two columns
    a character on the paper too, so every line ends within it and the amounts end in its last
    column; the date is the shop's form."""
    d = receipt(mixed_sale(), columns=columns, language="zh_CN")
    assert_fits(d, columns)
    by_start = {line.text.split()[0]: line for line in d.lines if line.text.strip()}
    for label, amount in (("合计", "￥22.00"), ("实收现金", "20.00"), ("找零", "1.00")):
        line = by_start[label]
        assert line.text.endswith(amount) and line.columns == columns, line.text
    assert any(t.startswith("2026-11-21 14:03") and "收银员" in t for t in d.texts), d.texts
