"""Receipt layout: a sale record -> a list of printable items, every line within the paper width.

Pure: no python-escpos, no I/O, no clock. The same layout is printed (render.py) or shown on
screen (lines()). The sale is the record every store speaks (Sale.to_record(), a journal line,
or store.db.load_sale_record), amounts in minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from gettext import NullTranslations
from typing import Any

from tui_pos.config import Config
from tui_pos.domain.money import Currency, format_bp
from tui_pos.domain.sale import tax_summary
from tui_pos.domain.shop_time import shop_time
from tui_pos.i18n import N_, translator
from tui_pos.printing.text import fold, pad_between, width, wrap

COLUMNS_BY_PAPER = {58: 32, 80: 48}  # Font A; the TM-T88 family has 42 on 80 mm (set columns)
COPY_MARK = N_("*** COPY ***")
TENDER_LABELS = {"cash": N_("Cash"), "card": N_("Card"), "mobile": N_("Mobile")}
REVERSAL_TITLES = {"refund": N_("REFUND"), "void": N_("VOID")}  # amounts on these are money paid back


@dataclass(frozen=True)
class Text:
    text: str  # already folded and fitted: width(text) <= columns
    align: str = "left"  # left | center | right
    bold: bool = False
    tall: bool = False  # double height (the width is unchanged)


QR_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # 5.5 bits a character, not 8


@dataclass(frozen=True)
class QR:
    payload: str
    # The same content in QR alphanumeric characters (the uuid in capitals: a uuid is the same in
    # either case), when it can be: a smaller code, for the screen. "" when it cannot (a URL).
    compact: str = ""

    @property
    def on_screen(self) -> str:
        return self.compact or self.payload


@dataclass(frozen=True)
class Drawer:
    pin: int = 2


@dataclass(frozen=True)
class Cut:
    pass


Item = Text | QR | Drawer | Cut


@dataclass(frozen=True)
class Layout:
    columns: int
    chinese: bool
    items: tuple[Item, ...]
    qr_native: bool = True
    profile: str = "default"

    def placed(self, item: Text) -> str:
        """The line as it lies on the paper: centred and right-aligned text padded with spaces."""
        pad = self.columns - width(item.text, self.chinese)
        return " " * (pad // 2 if item.align == "center" else pad if item.align == "right" else 0) + item.text

    def lines(self) -> list[str]:
        """Plain text as it would come out of the printer; QR codes as a [QR payload] marker."""
        return [self.placed(item) if isinstance(item, Text) else f"[QR {item.payload}]"
                for item in self.items if isinstance(item, (Text, QR))]


@dataclass(frozen=True)
class ReceiptOptions:
    """Everything about a receipt that comes from configuration, not from the sale."""

    columns: int = 32
    chinese: bool = True
    shop_name: str = "tui-pos shop"
    address: tuple[str, ...] = ()
    tax_id: str = ""
    footer: tuple[str, ...] = ()
    qr: str = "{receipt} {uuid}"
    qr_native: bool = True
    cut: bool = True
    drawer_pin: int = 2
    profile: str = "default"
    currency: Currency = field(default_factory=Currency)
    tz: tzinfo | None = None  # None: the machine's local time
    language: str = "en"  # the words on the paper ([printer] language)

    @classmethod
    def from_config(cls, config: Config, tz: tzinfo | None = None) -> ReceiptOptions:
        p = config.printer
        return cls(
            columns=p.columns or COLUMNS_BY_PAPER[p.paper], chinese=p.chinese, shop_name=config.shop_name,
            address=p.address, tax_id=p.tax_id, footer=p.footer, qr=p.qr, qr_native=p.qr_native, cut=p.cut,
            drawer_pin=p.drawer_pin, profile=p.profile,
            currency=Currency(config.currency_code, config.currency_symbol, config.currency_exponent), tz=tz,
            language=config.printer_language,
        )


class _Builder:
    def __init__(self, options: ReceiptOptions):
        self.o = options
        self.items: list[Item] = []
        self.tr = translator(options.language)  # the paper's language, not the screen's: tr.gettext("TOTAL")

    def text(self, text: str, align: str = "left", bold: bool = False, tall: bool = False) -> None:
        for line in wrap(text, self.o.columns, self.o.chinese):
            self.items.append(Text(line, align, bold, tall))

    def pair(self, left: str, right: str, bold: bool = False, tall: bool = False) -> None:
        for line in pad_between(left, right, self.o.columns, self.o.chinese):
            self.items.append(Text(line, "left", bold, tall))

    def rule(self) -> None:
        self.items.append(Text("-" * self.o.columns))


def tender_label(tr: NullTranslations, kind: str) -> str:
    """A tender's name on the receipt: what the customer paid with (实收 in Chinese receipts)."""
    labels = {"cash": tr.pgettext("receipt", "Cash"), "card": tr.pgettext("receipt", "Card"),
              "mobile": tr.pgettext("receipt", "Mobile")}
    return labels.get(kind, kind)


def qr_payload(template: str, sale: Mapping[str, Any], currency: Currency) -> str:
    """The QR content: the configured template, e.g. "{receipt} {uuid}" or an e-receipt URL."""
    values = {"receipt": sale["receipt"], "uuid": sale["uuid"], "till": sale["till_id"],
              "total": currency.format(sale["total"])}
    try:
        return template.format_map(values).strip()
    except (KeyError, ValueError, IndexError, AttributeError):
        return f"{sale['receipt']} {sale['uuid']}"  # a bad template must not cost the receipt


def receipt_layout(sale: Mapping[str, Any], options: ReceiptOptions, *, copy: bool = False,
                   drawer: bool = False) -> Layout:
    """The receipt of one sale. copy=True marks a reprint; drawer=True opens the cash drawer
    first (the caller decides: only for the original receipt of a cash sale, printed now)."""
    o, fmt = options, options.currency.format
    b = _Builder(options)
    tr = b.tr
    if drawer:
        b.items.append(Drawer(o.drawer_pin))
    if copy:
        b.text(tr.gettext(COPY_MARK), "center", bold=True, tall=True)
    b.text(o.shop_name, "center", bold=True, tall=True)
    for line in o.address:
        b.text(line, "center")
    if o.tax_id:
        b.text(tr.gettext("Tax ID {tax_id}").format(tax_id=o.tax_id), "center")
    b.rule()
    reversal = sale.get("kind", "sale") != "sale"
    if reversal:
        b.text(tr.gettext(REVERSAL_TITLES[sale["kind"]]), "center", bold=True, tall=True)
    b.pair(tr.gettext("Receipt"), sale["receipt"], bold=True)
    b.pair(shop_time(sale["completed_at"], o.tz), tr.gettext("Cashier {cashier}").format(cashier=sale["cashier"]))
    if reversal:
        b.pair(tr.gettext("Original receipt"), sale.get("original_receipt") or "?")
        if sale.get("reason"):
            b.text(tr.gettext("Reason: {reason}").format(reason=sale["reason"]))
    b.rule()

    sold = [line for line in sale["lines"] if not line["voided"]]
    for line in sold:
        b.text(line["name"])
        gross = line["unit_price"] * line["qty"]
        b.pair(f"  {line['qty']} x {fmt(line['unit_price'])} {line['tax_code']}", fmt(gross))
        if line["line_discount"]:
            b.pair("  " + tr.gettext("Discount"), fmt(-line["line_discount"]))
    b.rule()
    order_discount = sum(line["order_discount"] for line in sold)
    if order_discount:
        b.pair(tr.gettext("Order discount"), fmt(-order_discount))
    if not sale["tax_included"] and sale["tax"]:
        b.pair(tr.gettext("Tax"), fmt(sale["tax"]))
    b.pair(tr.gettext("TOTAL"), fmt(sale["total"], True), bold=True, tall=True)
    if sale["rounding"]:
        b.pair(tr.gettext("Cash rounding"), fmt(sale["rounding"]))
        b.pair(tr.gettext("Due"), fmt(sale["total"] + sale["rounding"], True), bold=True)
    for tender in sale["tenders"]:
        b.pair(tender_label(tr, tender["kind"]), fmt(tender["amount"]))
        if tender.get("reference"):
            b.pair("  " + tr.gettext("Ref"), tender["reference"])
    if not reversal and (sale["change"] or any(t["kind"] == "cash" for t in sale["tenders"])):
        b.pair(tr.gettext("Change"), fmt(sale["change"]), bold=True)
    b.rule()

    b.text(tr.gettext("Tax included") if sale["tax_included"] else tr.gettext("Tax"))
    for code, rate_bp, net, tax in tax_summary(sale["lines"]):
        b.pair("  " + tr.gettext("{code} {rate} on {net}").format(code=code, rate=format_bp(rate_bp), net=fmt(net)),
               fmt(tax))

    payload = qr_payload(o.qr, sale, o.currency) if o.qr else ""
    if payload:
        compact = qr_payload(o.qr, {**sale, "uuid": sale["uuid"].upper()}, o.currency)
        b.items.append(QR(payload, compact if compact != payload and set(compact) <= QR_ALPHANUMERIC else ""))
    for line in o.footer:
        b.text(tr.gettext(line) if line else line, "center")  # the default footer ("Thank you!") in the paper's language
    if copy:
        b.text(tr.gettext(COPY_MARK), "center", bold=True)
    if o.cut:
        b.items.append(Cut())
    return Layout(o.columns, o.chinese, tuple(b.items), o.qr_native, o.profile)


def selftest_layout(options: ReceiptOptions, connection: str, status: str) -> Layout:
    """`tui-pos printer test`: the column ruler, CJK and accented text, a QR code, a cut."""
    b = _Builder(options)
    tr = b.tr
    b.text(tr.gettext("tui-pos printer test"), "center", bold=True, tall=True)
    b.text(options.shop_name, "center")
    b.rule()
    b.text(tr.gettext("Connection {connection}").format(connection=connection))
    b.text(tr.gettext("Status {status}").format(status=status))
    b.text(tr.gettext("{columns} columns, Chinese (GBK) text").format(columns=options.columns) if options.chinese
           else tr.gettext("{columns} columns, code page text").format(columns=options.columns))
    ruler = "".join(str(i % 10) for i in range(1, options.columns + 1))
    b.items.append(Text(ruler))
    b.pair("中文 汉字 两列宽", "￥12.50")
    b.pair("Café crème, Größe, Ñandú", "1.00")
    b.rule()
    b.items.append(QR("tui-pos test page"))
    if options.cut:
        b.items.append(Cut())
    return Layout(options.columns, options.chinese, tuple(b.items), options.qr_native, options.profile)


def check_fits(layout: Layout) -> None:
    """Raise if a line is wider than the paper (a bug in this module, never the sale's fault)."""
    for item in layout.items:
        if isinstance(item, Text) and width(item.text, layout.chinese) > layout.columns:
            raise AssertionError(f"line wider than {layout.columns} columns: {item.text!r}")
        if isinstance(item, Text) and fold(item.text, layout.chinese) != item.text:
            raise AssertionError(f"line not folded for the printer: {item.text!r}")
