"""The providers' daily statements, read into one typed row (domain.reconcile.StatementRow).

- Alipay: the trade bill's business detail file (…_业务明细.csv, in the zip that
  alipay.data.dataservice.bill.downloadurl.query with bill_type=trade points at, or downloaded from
  the merchant portal). GBK (read as GB18030, its superset). Lines starting with '#' are the
  title, the account, the period (#起始日期：[2026年12月03日 00:00:00]   终止日期：[2026年12月04日 00:00:00]),
  the list's start and end markers and the totals (#交易合计：N笔，… #退款合计：N笔，…). Then the header:
  支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,
  订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,
  券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注
  Cells are padded with tabs (so that a spreadsheet keeps long numbers as text). 业务类型 交易 is a
  charge (its amount: 订单金额, what the till asked for), 退款 a refund (its amount: what the merchant
  gave back, 商家实收 as a positive number; its out_refund_no: 退款批次号/请求号, the till's out_request_no).
- WeChat Pay: the trade bill (交易账单, bill_type ALL, from /v3/bill/tradebill or the v2
  downloadbill), UTF-8. The header first:
  交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,
  货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,
  商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
  then one line per trade, every cell behind a backtick (`), then the totals' header
  (总交易单数,应结订单总金额,退款总金额,…) and the totals line. 交易状态 SUCCESS is a charge (订单金额,
  else 应结订单金额), REFUND a refund (退款金额, else 申请退款金额; only when 退款状态 is SUCCESS).

Columns are found by their names in the header (a file with a column more or less still reads);
rows of other kinds (closed, reversed, refunds in progress, frozen funds) are counted as skipped.
The statement's totals are checked against its rows: a file cut short is refused, never read as
"fewer trades". Bad files are BadInput/BadLines naming each bad line, never a traceback.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tui_pos.domain.catalog import ERRORS_SHOWN, more_lines
from tui_pos.domain.errors import N_, BadInput, BadLines, BadValue, Said
from tui_pos.domain.reconcile import PROVIDER_ZONE, Statement, StatementKind, StatementRow
from tui_pos.files import read_named

PROVIDERS = ("alipay", "wechat")
MAX_BYTES = 200 * 1024 * 1024  # a day's statement of a very busy shop is a few MB

_AMOUNT = re.compile(r"-?\d{1,12}(\.\d+)?")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
_ALIPAY_DAY = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")

# Alipay business detail (业务明细): column names, as its header spells them (normalised: no spaces, full-width brackets)
ALIPAY_TRADE_NO, ALIPAY_OUT_TRADE_NO, ALIPAY_TYPE = "支付宝交易号", "商户订单号", "业务类型"
ALIPAY_CREATED, ALIPAY_DONE = "创建时间", "完成时间"
ALIPAY_ORDER_AMOUNT, ALIPAY_RECEIVED, ALIPAY_REFUND_NO = "订单金额（元）", "商家实收（元）", "退款批次号/请求号"
ALIPAY_REQUIRED = (ALIPAY_TRADE_NO, ALIPAY_OUT_TRADE_NO, ALIPAY_TYPE, ALIPAY_DONE, ALIPAY_ORDER_AMOUNT, ALIPAY_RECEIVED)
ALIPAY_ACCOUNT_FLOW = "账务流水号"  # the other Alipay download (账务明细): balance movements, no trade numbers per trade

# WeChat Pay trade bill (交易账单)
WECHAT_TIME, WECHAT_TRANSACTION_ID, WECHAT_OUT_TRADE_NO, WECHAT_STATE = "交易时间", "微信订单号", "商户订单号", "交易状态"
WECHAT_SETTLED, WECHAT_ORDER_AMOUNT = "应结订单金额", "订单金额"
WECHAT_REFUND_ID, WECHAT_OUT_REFUND_NO, WECHAT_REFUND_AMOUNT = "微信退款单号", "商户退款单号", "退款金额"
WECHAT_REFUND_ASKED, WECHAT_REFUND_STATE = "申请退款金额", "退款状态"
WECHAT_REQUIRED = (WECHAT_TIME, WECHAT_TRANSACTION_ID, WECHAT_OUT_TRADE_NO, WECHAT_STATE, WECHAT_SETTLED)
WECHAT_TOTALS = "总交易单数"


def load_statement(path: Path, provider: str | None = None) -> Statement:
    """The statement in the file at path (provider: alipay or wechat; None: found from the file)."""
    data = read_named(path, MAX_BYTES, N_("{file} is not a regular file: save the statement as a .csv file and "
                                          "reconcile that"), N_("{file} is larger than any daily statement: not read"))
    return read_statement(data, provider, name=path.name)


def read_statement(data: bytes, provider: str | None = None, name: str = "the file") -> Statement:
    """A statement from the file's bytes."""
    if provider is not None and provider not in PROVIDERS:
        raise BadInput(N_("unknown provider {provider}: alipay or wechat"), provider=provider)
    text = _decode(data, name)
    lines = re.split(r"\r\n|\n|\r", text)
    found = _detect(lines)
    if found is None:
        raise BadInput(N_("{file} is not an Alipay business detail (业务明细) nor a WeChat Pay trade bill (交易账单): "
                          "no header with 支付宝交易号 or 微信订单号"), file=name)
    if provider is not None and found != provider:
        raise BadInput(N_("{file} is a statement of {found}, not of {provider}"), file=name, found=found,
                       provider=provider)
    return _read_alipay(lines, name) if found == "alipay" else _read_wechat(lines, name)


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:4096]:
        raise BadInput(N_("{file} is not a text file (a zip? unpack the .csv from it first)"), file=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as err:
        raise BadInput(N_("{file} is neither UTF-8 nor GBK text (byte {at})"), file=name, at=err.start) from None


def _detect(lines: list[str]) -> str | None:
    for line in lines[:50]:
        if line.startswith("#"):
            continue
        if ALIPAY_TRADE_NO in line or ALIPAY_ACCOUNT_FLOW in line:
            return "alipay"
        if WECHAT_TRANSACTION_ID in line:
            return "wechat"
    return None


def _cells(line: str) -> list[str]:
    """One CSV line's cells (a line never holds a line break in these files); ValueError when the
    line cannot be read as CSV (a NUL, a cell longer than any)."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error as err:
        raise BadValue(N_("not a CSV line ({error})"), error=str(err)) from None


def _line_cells(lines: list[str], at: int, name: str) -> list[str]:
    """The cells of a line that must be read (a header, the totals): BadInput naming it when it cannot."""
    try:
        return _cells(lines[at])
    except ValueError as err:
        raise BadInput(N_("{file} line {line}: {problem}"), file=name, line=at + 1, problem=err) from None


def _header_name(cell: str) -> str:
    return cell.strip().strip("`").replace(" ", "").replace("(", "（").replace(")", "）")


def _columns(header: list[str], required: tuple[str, ...], provider: str, name: str, line_no: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, cell in enumerate(header):
        columns.setdefault(_header_name(cell), i)
    missing = [c for c in required if c not in columns]
    if missing:
        raise BadInput(N_("{file} line {line}: the {provider} header lacks {columns}"), file=name, line=line_no,
                       provider=provider, columns=", ".join(missing))
    return columns


def _fen(text: str, what: str) -> int:
    """An amount in yuan ("12.34", "-0.01") in fen: exact (Decimal), at most 2 decimal places."""
    text = text.strip().replace(",", "")
    if not _AMOUNT.fullmatch(text):
        raise BadValue(N_("{what} {text} is not an amount"), what=what, text=repr(text))
    try:
        value = Decimal(text) * 100
    except InvalidOperation:
        raise BadValue(N_("{what} {text} is not an amount"), what=what, text=repr(text)) from None
    if value != value.to_integral_value():
        raise BadValue(N_("{what} {text} has fractions of a fen"), what=what, text=repr(text))
    return int(value)


def _at(text: str, what: str) -> str:
    """The provider's local time ("2026-12-03 10:00:01", Beijing) as ISO with its offset."""
    text = text.strip()
    if not _TIME.fullmatch(text):
        raise BadValue(N_("{what} {text} is not a time (YYYY-MM-DD HH:MM:SS)"), what=what, text=repr(text))
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise BadValue(N_("{what} {text} is not a time (YYYY-MM-DD HH:MM:SS)"), what=what, text=repr(text)) from None
    return moment.replace(tzinfo=PROVIDER_ZONE).isoformat()


def _refused(errors: list[str]) -> BadLines:
    more = len(errors) - ERRORS_SHOWN
    return BadLines(N_("statement not read:"), errors[:ERRORS_SHOWN] + ([more_lines(more)] if more > 0 else []))


def _days(rows: list[StatementRow]) -> tuple[date | None, date | None]:
    days = sorted(datetime.fromisoformat(r.at).date() for r in rows)
    return (days[0], days[-1]) if days else (None, None)


def _read_rows(lines: list[str], start: int, end: int, width: int,
               row_of: Callable[[list[str], int], StatementRow | None], backticked: bool = False
               ) -> tuple[list[StatementRow], int]:
    """The trade lines lines[start:end] (blank ones and '#' comments passed over), each read by
    row_of(its cells, its line number): a row, or None for a row of another kind (skipped), or
    ValueError for a bad line. Every bad line is named, then the file refused (BadLines); else
    (rows, how many skipped). backticked: WeChat's, every cell behind a backtick (taken off)."""
    rows: list[StatementRow] = []
    errors: list[str] = []
    skipped = 0
    for i in range(start, end):
        line = lines[i]
        if not line.strip() or (line.startswith("#") and not backticked):
            continue
        if backticked and not line.startswith("`"):
            errors.append(Said(N_("line {line}: not a trade line (its cells start with `)"), line=i + 1))
            continue
        try:
            cells = [c.strip() for c in _cells(line)]
            if backticked:
                cells = [c[1:].strip() if c.startswith("`") else c for c in cells]
            if len(cells) < width:
                raise BadValue(N_("{cells} cells, the header has {width} columns"), cells=len(cells), width=width)
            row = row_of(cells, i + 1)
        except ValueError as err:
            errors.append(Said(N_("line {line}: {error}"), line=i + 1, error=err))
            continue
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    if errors:
        raise _refused(errors)
    return rows, skipped


def _checked(row: StatementRow, amount_column: str, trade_column: str) -> StatementRow:
    """A charge or refund row as every provider's must be: an amount, and the provider's trade
    number (what the till's records are matched by). ValueError naming the column otherwise."""
    if row.amount <= 0:
        raise BadValue(N_("{column} is zero"), column=amount_column)
    if not row.transaction_id:
        raise BadValue(N_("{column} is empty"), column=trade_column)
    return row


# -- Alipay -----------------------------------------------------------------------------------------
def _read_alipay(lines: list[str], name: str) -> Statement:
    header_at = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    header = _line_cells(lines, header_at, name)
    if ALIPAY_ACCOUNT_FLOW in [_header_name(c) for c in header]:
        raise BadInput(N_("{file} is Alipay's account flow (账务明细): reconcile needs the business detail "
                          "(业务明细) of the trade bill"), file=name)
    columns = _columns(header, ALIPAY_REQUIRED, "Alipay", name, header_at + 1)

    def row_of(cells: list[str], line: int) -> StatementRow | None:
        def cell(column: str) -> str:
            return cells[columns[column]] if column in columns else ""

        kind_text = cell(ALIPAY_TYPE)
        if kind_text not in ("交易", "退款"):
            return None
        kind: StatementKind = "pay" if kind_text == "交易" else "refund"
        at = _at(cell(ALIPAY_DONE) or cell(ALIPAY_CREATED), ALIPAY_DONE)
        if kind == "pay":
            amount = _fen(cell(ALIPAY_ORDER_AMOUNT), ALIPAY_ORDER_AMOUNT)
        else:
            given = cell(ALIPAY_RECEIVED)
            amount = abs(_fen(given, ALIPAY_RECEIVED)) if given.strip() else abs(
                _fen(cell(ALIPAY_ORDER_AMOUNT), ALIPAY_ORDER_AMOUNT))
        return _checked(StatementRow(provider="alipay", out_trade_no=cell(ALIPAY_OUT_TRADE_NO),
                                     transaction_id=cell(ALIPAY_TRADE_NO), kind=kind, amount=amount, at=at,
                                     out_refund_no=cell(ALIPAY_REFUND_NO) if kind == "refund" else "", line=line),
                        ALIPAY_ORDER_AMOUNT if kind == "pay" else ALIPAY_RECEIVED, ALIPAY_TRADE_NO)

    rows, skipped = _read_rows(lines, header_at + 1, len(lines), len(header), row_of)
    comments = [line for line in lines if line.startswith("#")]
    _check_alipay_footer(comments, rows, name)
    first, last = _alipay_period(comments)
    if first is None:
        first, last = _days(rows)
    return Statement(provider="alipay", rows=tuple(rows), first_day=first, last_day=last, skipped=skipped)


def _check_alipay_footer(comments: list[str], rows: list[StatementRow], name: str) -> None:
    """The list's end marker is there when its start marker is, and the totals count what was read."""
    if any("业务明细列表" in c and "结束" not in c for c in comments) and not any("业务明细列表结束" in c for c in comments):
        raise BadInput(N_("{file} ends before the list's end marker (业务明细列表结束): cut short? Download it again"),
                       file=name)
    for label, kind in (("交易合计", "pay"), ("退款合计", "refund")):
        read = sum(row.kind == kind for row in rows)
        for comment in comments:
            found = re.search(label + r"[：:]\s*(\d+)\s*笔", comment)
            if found and int(found.group(1)) != read:
                raise BadInput(N_("{file} says {said} rows of {label}, {read} were read: cut short? Download it again"),
                               file=name, said=int(found.group(1)), label=label, read=read)


def _alipay_period(comments: list[str]) -> tuple[date | None, date | None]:
    """The days of '#起始日期：[2026年12月03日 00:00:00]   终止日期：[2026年12月04日 00:00:00]' (the end
    excluded at midnight)."""
    for comment in comments:
        if "起始日期" not in comment:
            continue
        found = [(date(int(y), int(m), int(d)), comment[match.end():match.end() + 10])
                 for match in _ALIPAY_DAY.finditer(comment) for y, m, d in [match.groups()]]
        if len(found) != 2:
            continue
        (first, _), (end, end_time) = found
        last = end if end_time.strip().strip("[").startswith("23:59") else end.fromordinal(end.toordinal() - 1)
        return first, max(first, last)
    return None, None


# -- WeChat Pay -------------------------------------------------------------------------------------
def _read_wechat(lines: list[str], name: str) -> Statement:
    header_at = next(i for i, line in enumerate(lines) if WECHAT_TRANSACTION_ID in line)
    header = _line_cells(lines, header_at, name)
    columns = _columns(header, WECHAT_REQUIRED, "WeChat Pay", name, header_at + 1)
    totals_at = next((i for i in range(header_at + 1, len(lines)) if lines[i].lstrip("`").startswith(WECHAT_TOTALS)),
                     None)

    def row_of(cells: list[str], line: int) -> StatementRow | None:
        def cell(column: str) -> str:
            value = cells[columns[column]] if column in columns else ""
            return "" if value == "0" and column in (WECHAT_REFUND_ID, WECHAT_OUT_REFUND_NO) else value

        state = cell(WECHAT_STATE)
        at = _at(cell(WECHAT_TIME), WECHAT_TIME)
        kind: StatementKind
        if state == "SUCCESS":
            kind = "pay"
            column = WECHAT_ORDER_AMOUNT if cell(WECHAT_ORDER_AMOUNT) else WECHAT_SETTLED
            amount = _fen(cell(column), column)
        elif state == "REFUND" and cell(WECHAT_REFUND_STATE) in ("SUCCESS", ""):
            kind = "refund"
            column = WECHAT_REFUND_AMOUNT if _fen(cell(WECHAT_REFUND_AMOUNT) or "0", WECHAT_REFUND_AMOUNT) \
                else WECHAT_REFUND_ASKED
            amount = abs(_fen(cell(column) or "0", column))
        else:
            return None
        return _checked(StatementRow(provider="wechat", out_trade_no=cell(WECHAT_OUT_TRADE_NO),
                                     transaction_id=cell(WECHAT_TRANSACTION_ID), kind=kind, amount=amount, at=at,
                                     out_refund_no=cell(WECHAT_OUT_REFUND_NO) if kind == "refund" else "",
                                     refund_id=cell(WECHAT_REFUND_ID) if kind == "refund" else "", line=line),
                        column, WECHAT_TRANSACTION_ID)

    rows, skipped = _read_rows(lines, header_at + 1, len(lines) if totals_at is None else totals_at, len(header),
                               row_of, backticked=True)
    if totals_at is None or totals_at + 1 >= len(lines) or not lines[totals_at + 1].strip():
        raise BadInput(N_("{file} has no totals line (总交易单数) after its trades: cut short? Download it again"),
                       file=name)
    said = (_line_cells(lines, totals_at + 1, name) or [""])[0].strip().lstrip("`").strip()
    if not said.isdigit():
        raise BadInput(N_("{file} line {line}: the totals line does not start with the number of trades"),
                       file=name, line=totals_at + 2)
    if int(said) != len(rows) + skipped:
        raise BadInput(N_("{file} says {said} trades, {read} were read: cut short? Download it again"), file=name,
                       said=int(said), read=len(rows) + skipped)
    first, last = _days(rows)
    return Statement(provider="wechat", rows=tuple(rows), first_day=first, last_day=last, skipped=skipped)
