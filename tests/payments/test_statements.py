"""The providers' statements read (payments/statements.py), from sample files in the real formats
(tests/payments/statements/): Alipay's business detail (业务明细, GBK, '#' lines, tab-padded cells)
and WeChat Pay's trade bill (交易账单, backtick-prefixed cells, totals at the end), and broken ones:
every bad file is one BadInput (or BadLines naming each bad line), never a traceback."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_pos.domain.errors import BadInput, BadLines
from tui_pos.domain.reconcile import StatementRow
from tui_pos.payments.statements import load_statement, read_statement

SAMPLES = Path(__file__).parent / "statements"
ALIPAY = SAMPLES / "alipay_20261203_business_detail.csv"
WECHAT = SAMPLES / "wechat_tradebill_20261203.csv"


def alipay_text() -> str:
    return ALIPAY.read_bytes().decode("gbk")


def wechat_text() -> str:
    return WECHAT.read_bytes().decode("utf-8")


def test_alipay_business_detail_in_gbk():
    statement = load_statement(ALIPAY)
    assert ALIPAY.read_bytes().decode("gbk")  # really GBK: not UTF-8
    with pytest.raises(UnicodeDecodeError):
        ALIPAY.read_bytes().decode("utf-8")
    assert (statement.provider, statement.first_day, statement.last_day, statement.skipped) == (
        "alipay", date(2026, 12, 3), date(2026, 12, 3), 0)
    assert statement.rows == (
        StatementRow("alipay", "P5a1e00010000400080000000001", "2026120322001400001000000001", "pay", 700,
                     "2026-12-03T09:15:04+08:00", line=6),
        StatementRow("alipay", "P5a1e00020000400080000000002", "2026120322001400001000000002", "pay", 3580,
                     "2026-12-03T12:01:47+08:00", line=7),
        # a partial refund: what the merchant gave back (商家实收 -5.80), not the order's amount
        StatementRow("alipay", "P5a1e00020000400080000000002", "2026120322001400001000000002", "refund", 580,
                     "2026-12-03T15:30:01+08:00", out_refund_no="R4ef000020000400080000000001", line=8),
        # paid to the shop's own QR code: no merchant order number, still a charge
        StatementRow("alipay", "", "2026120322001400001000000003", "pay", 120000, "2026-12-03T18:44:10+08:00", line=9),
    )


def test_wechat_trade_bill():
    statement = load_statement(WECHAT)
    assert (statement.provider, statement.first_day, statement.last_day) == ("wechat", date(2026, 12, 3),
                                                                             date(2026, 12, 3))
    assert statement.skipped == 1  # the reversed (REVOKED) trade
    assert statement.rows == (
        StatementRow("wechat", "P5a1e00030000400080000000001", "4200002026120300000000000001", "pay", 1250,
                     "2026-12-03T08:30:11+08:00", line=2),
        StatementRow("wechat", "P5a1e00040000400080000000001", "4200002026120300000000000002", "pay", 8800,
                     "2026-12-03T13:02:59+08:00", line=3),
        StatementRow("wechat", "P5a1e00040000400080000000001", "4200002026120300000000000002", "refund", 800,
                     "2026-12-03T16:20:00+08:00", out_refund_no="R4ef000040000400080000000001",
                     refund_id="50300002026120300000000000001", line=4),
    )


def test_the_provider_is_found_from_the_file_or_checked_when_given():
    assert read_statement(ALIPAY.read_bytes(), "alipay").provider == "alipay"
    assert read_statement(WECHAT.read_bytes(), "wechat").provider == "wechat"
    with pytest.raises(BadInput, match="a statement of wechat, not of alipay"):
        read_statement(WECHAT.read_bytes(), "alipay")
    with pytest.raises(BadInput, match="unknown provider paypal"):
        read_statement(WECHAT.read_bytes(), "paypal")


def test_columns_are_found_by_name_and_other_encodings_read():
    """Re-saved as UTF-8 with a BOM, or WeChat's SUCCESS-only bill (fewer columns): still read."""
    assert read_statement(b"\xef\xbb\xbf" + alipay_text().encode("utf-8")) == load_statement(ALIPAY)
    header, *rest = wechat_text().split("\r\n")
    columns = header.split(",")
    keep = [i for i, name in enumerate(columns) if name not in ("特约商户号", "设备号", "费率备注", "订单金额")]
    narrowed = "\r\n".join([",".join(columns[i] for i in keep)]
                           + [",".join(line.split(",")[i] for i in keep) if line.startswith("`2026") else line
                              for line in rest])
    statement = read_statement(narrowed.encode("utf-8"))
    assert [(r.kind, r.amount) for r in statement.rows] == [("pay", 1250), ("pay", 8800), ("refund", 800)]


def replace_line(text: str, number: int, line: str) -> str:
    lines = text.split("\r\n")
    lines[number - 1] = line
    return "\r\n".join(lines)


def test_bad_alipay_lines_are_named_each():
    text = alipay_text()
    lines = text.split("\r\n")
    bad = replace_line(text, 6, lines[5].replace("7.00\t", "7.001\t", 1))
    bad = replace_line(bad, 7, lines[6].replace("2026-12-03 12:01:47", "yesterday"))
    bad = replace_line(bad, 9, lines[8].split(",", 3)[0])
    with pytest.raises(BadLines) as caught:
        read_statement(bad.encode("gbk"))
    assert caught.value.summary == "statement not read:"
    assert caught.value.details == [
        "line 6: 订单金额（元） '7.001' has fractions of a fen",
        "line 7: 完成时间 'yesterday' is not a time (YYYY-MM-DD HH:MM:SS)",
        "line 9: 1 cells, the header has 25 columns",
    ]
    from tui_pos import i18n  # said in the reader's language, whole (conftest puts English back)

    i18n.use_language("zh_CN")
    assert [i18n.message(line) for line in caught.value.details] == [
        "第 6 行：订单金额（元） '7.001' 含有不足一分的金额",
        "第 7 行：完成时间 'yesterday' 不是有效时间（应为 YYYY-MM-DD HH:MM:SS）",
        "第 9 行：只有 1 个单元格，表头有 25 列",
    ]


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.split("#-----------------------------------------业务明细列表结束")[0], "cut short"),
    (lambda t: t.replace("#交易合计：3笔", "#交易合计：4笔"), "says 4 rows of 交易合计, 3 were read"),
    (lambda t: t.replace("订单金额（元）", "金额"), "header lacks 订单金额（元）"),
    (lambda t: "#支付宝账务明细查询\r\n账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,"
               "支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注\r\n", "account flow"),
])
def test_broken_alipay_files_are_refused_in_one_line(damage, message):
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_statement(damage(alipay_text()).encode("gbk"))


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.split("总交易单数")[0], "no totals line"),
    (lambda t: t.replace("`4,`100.50", "`5,`100.50"), "says 5 trades, 4 were read"),
    (lambda t: t.replace("`4,`100.50", "four,`100.50"), "does not start with the number of trades"),
])
def test_broken_wechat_files_are_refused_in_one_line(damage, message):
    with pytest.raises(BadInput, match=message):
        read_statement(damage(wechat_text()).encode("utf-8"))


@pytest.mark.parametrize("line_2, line_3, details", [
    (("`", ""), ("`88.00", "`eighty-eight"),
     ["line 2: not a trade line (its cells start with `)", "line 3: 订单金额 'eighty-eight' is not an amount"]),
    (("`12.50", "`0.00"), ("`4200002026120300000000000002", "`"),  # no amount, no trade number
     ["line 2: 订单金额 is zero", "line 3: 微信订单号 is empty"]),
])
def test_bad_wechat_lines_are_named_each(line_2, line_3, details):
    text = wechat_text()
    lines = text.split("\r\n")
    bad = replace_line(text, 2, lines[1].replace(*line_2))
    bad = replace_line(bad, 3, lines[2].replace(*line_3))
    with pytest.raises(BadLines) as caught:
        read_statement(bad.encode("utf-8"))
    assert caught.value.details == details


@pytest.mark.parametrize("data, message", [
    (b"", "not an Alipay business detail"),
    (b"barcode,name,price,tax\n123,Cola,3.50,A\n", "not an Alipay business detail"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "not a text file"),
    (b"\xff\xfe\x00\x00\x81", "not a text file"),
])
def test_what_is_no_statement_is_refused(data, message):
    with pytest.raises(BadInput, match=message):
        read_statement(data)


def test_unreadable_paths_are_one_line(tmp_path):
    with pytest.raises(BadInput, match="cannot read"):
        load_statement(tmp_path / "missing.csv")
    with pytest.raises(BadInput, match="is not a regular file"):
        load_statement(tmp_path)
    fifo = tmp_path / "statement.csv"
    os.mkfifo(fifo)  # opening it would wait for a writer: the command would hang
    with pytest.raises(BadInput, match="is not a regular file"):
        load_statement(fifo)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["alipay", "wechat"]), st.data())
def test_any_damage_is_a_statement_or_bad_input_never_a_traceback(which, data):
    original = ALIPAY.read_bytes() if which == "alipay" else WECHAT.read_bytes()
    start = data.draw(st.integers(0, len(original)))
    end = data.draw(st.integers(start, min(len(original), start + 40)))
    junk = data.draw(st.binary(max_size=20) | st.text(max_size=10).map(lambda s: s.encode("utf-8")))
    damaged = original[:start] + junk + original[end:]
    try:
        read_statement(damaged)
    except BadInput:
        pass


def test_files_written_from_trades_read_back(tmp_path):
    """tests/payments/statement_files.py (what the CLI tests reconcile) writes what this module reads."""
    from .statement_files import Trade, alipay_bill, wechat_bill

    trades = [Trade("P1", "TX1", 1234, "2026-12-03 10:00:00"), Trade("P2", "TX2", 5, "2026-12-03 23:59:59"),
              Trade("P1", "TX1", 234, "2026-12-03 11:00:00", kind="refund", out_refund_no="R1", refund_id="RF1")]
    for data, provider in ((alipay_bill(trades, date(2026, 12, 3)), "alipay"), (wechat_bill(trades), "wechat")):
        statement = read_statement(data)
        assert statement.provider == provider and statement.first_day == date(2026, 12, 3)
        assert [(r.kind, r.out_trade_no, r.transaction_id, r.amount, r.out_refund_no) for r in statement.rows] == [
            ("pay", "P1", "TX1", 1234, ""), ("pay", "P2", "TX2", 5, ""), ("refund", "P1", "TX1", 234, "R1")]


@pytest.mark.parametrize("period, first, last", [
    ("#起始日期：[2026年12月03日 00:00:00]   终止日期：[2026年12月03日 23:59:59]", date(2026, 12, 3), date(2026, 12, 3)),
    ("#起始日期：[2026年12月01日 00:00:00]   终止日期：[2026年12月04日 00:00:00]", date(2026, 12, 1), date(2026, 12, 3)),
    ("#账号：[20880000000000000156]", date(2026, 12, 3), date(2026, 12, 3)),  # no period: the rows' days
])
def test_alipays_period_is_read_from_its_header(period, first, last):
    text = alipay_text().replace("#起始日期：[2026年12月03日 00:00:00]   终止日期：[2026年12月04日 00:00:00]", period)
    statement = read_statement(text.encode("gbk"))
    assert (statement.first_day, statement.last_day) == (first, last)
