"""The receipt on screen, QR code included, for when no printer works: the customer photographs it.

The QR code is drawn in half blocks (▀ ▄ █, which the Linux console's fonts have too), two modules
per character cell, so a module is about square; with the smallest error correction (L: a screen
is not a crumpled paper) and the payload in QR alphanumeric characters when it can be, the usual
"{receipt} {uuid}" code is 29 modules with its quiet zone: 29 columns by 15 rows, which fits an
80x24 screen beside everything else of the dialog.
"""

from __future__ import annotations

from tui_pos.printing.layout import QR, Layout, Text

QUIET_ZONE = 2  # modules of light border (drawn): the dialog around it is dark


def qr_lines(payload: str, border: int = QUIET_ZONE) -> list[str]:
    """A QR code in Unicode half blocks, two modules per character cell. Light modules are drawn
    (like `qrencode -t UTF8`), so it reads dark-on-light on the usual dark terminal."""
    import qrcode  # lazy: a dependency of python-escpos, needed only here

    code = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))  # one more light row: quiet zone
    glyph = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
    return ["".join(glyph[(top, bottom)] for top, bottom in zip(matrix[y], matrix[y + 1]))
            for y in range(0, len(matrix), 2)]


def screen_lines(layout: Layout, with_qr: bool = True) -> list[str]:
    """The receipt as text lines (centred lines padded), QR codes drawn in blocks where they are."""
    out: list[str] = []
    for item in layout.items:
        if isinstance(item, Text):
            out.append(layout.placed(item))
        elif isinstance(item, QR):
            out.extend(qr_lines(item.on_screen) if with_qr else [f"[QR {item.payload}]"])
    return out


def screen_parts(layout: Layout) -> tuple[list[list[str]], list[str]]:
    """For the till's receipt dialog: the QR codes drawn (shown first: that is what the customer
    photographs), and the receipt's text lines without them."""
    codes = [qr_lines(item.on_screen) for item in layout.items if isinstance(item, QR)]
    return codes, [layout.placed(item) for item in layout.items if isinstance(item, Text)]
