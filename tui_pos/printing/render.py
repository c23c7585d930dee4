"""Layout -> ESC/POS bytes, through python-escpos (imported lazily, see _escpos.py).

Every command comes from python-escpos: initialise, alignment, bold, double height, native
or image QR code, cut (as the printer profile supports it), cash drawer. Two things it cannot
do are done here, each with its reason:

- Chinese-mode text goes through python-escpos's own Chinese support: ``textln()`` sends a line
  with a character in U+4E00-U+9FA5 as GB18030, which is what Chinese printers read. A line
  without one (``TOTAL ￥12.50``) it would map through single-byte code pages instead, printing
  ``?`` for ``￥``: such a line is encoded here with the same codec (GB18030). Folded text (text.fold) has only characters of GBK, the part of
  GB18030 every Chinese printer has, one or two bytes each, so both paths send the same bytes
  a GBK printer prints.
- ``FS &`` (select Chinese character mode): python-escpos has no call for it; built from its
  FS constant, sent once at the top so a printer left in single-byte mode prints GBK.
"""

from __future__ import annotations

import re
from typing import Any

from tui_pos.printing._escpos import escpos
from tui_pos.printing.layout import QR, Cut, Drawer, Layout, Text

HAN = re.compile("[\u4e00-\u9fa5]")  # what makes python-escpos send a line as GB18030 (magicencode.py)
QR_MODULE_DOTS = {32: 5, 42: 6, 48: 6}  # module size by columns: ~150-220 dots wide at version 3-5


_buffer_class: Any = None


def _buffer_printer(profile: str) -> Any:
    """An in-memory python-escpos printer (like escpos.printer.Dummy, without importing every
    transport escpos.printer brings along)."""
    global _buffer_class
    if _buffer_class is None:
        base = escpos().Escpos

        class BufferPrinter(base):  # type: ignore[misc, valid-type]
            def __init__(self, profile: str) -> None:
                super().__init__(profile=profile)
                self.chunks: list[bytes] = []

            def _raw(self, msg: bytes) -> None:
                self.chunks.append(bytes(msg))

            def open(self) -> None:
                pass

            def close(self) -> None:
                pass

        _buffer_class = BufferPrinter
    return _buffer_class(profile)


def render(layout: Layout) -> bytes:
    """The ESC/POS bytes of a layout (pure: no device is touched)."""
    c = escpos().constants
    p = _buffer_printer(layout.profile)
    p.hw("INIT")
    if layout.chinese:
        p._raw(c.FS + b"&")
    style = {"align": "left", "bold": False, "tall": False}
    for item in layout.items:
        if isinstance(item, Text):
            if item.tall != style["tall"]:
                p.set(double_height=True) if item.tall else p.set(normal_textsize=True)
                style["bold"] = False  # the size command (ESC !) also clears emphasis
            if item.bold != style["bold"]:
                p.set(bold=item.bold)
            if item.align != style["align"]:
                p.set(align=item.align)
            style.update(align=item.align, bold=item.bold, tall=item.tall)
            if layout.chinese and not HAN.search(item.text):
                p._raw(item.text.encode("gb18030") + b"\n")
            else:
                p.textln(item.text)  # code pages, or (a line with Chinese in it) GB18030
        elif isinstance(item, QR):
            size = QR_MODULE_DOTS.get(layout.columns, 5)
            if style["align"] != "center":
                p.set(align="center")  # GS ( k follows ESC a, like text
                style["align"] = "center"
            if layout.qr_native:
                p.qr(item.payload, native=True, size=size, ec=c.QR_ECLEVEL_M)
                p.print_and_feed(1)
            else:
                p.qr(item.payload, native=False, size=size, ec=c.QR_ECLEVEL_M, center=False)
        elif isinstance(item, Drawer):
            p.cashdraw(item.pin)
        elif isinstance(item, Cut):
            p.cut()
    return b"".join(p.chunks)


def drawer_kick(pin: int = 2, profile: str = "default") -> bytes:
    """Only the cash-drawer pulse (a manager-approved "no sale")."""
    p = _buffer_printer(profile)
    p.cashdraw(pin)
    return b"".join(p.chunks)
