"""The receipt on screen, QR code included, for when no printer works: the customer photographs it."""

from __future__ import annotations

from tui_pos.printing.layout import QR, Layout, Text


def qr_lines(payload: str, border: int = 2, full_blocks: bool = False) -> list[str]:
    """A QR code in Unicode half blocks, two modules per character cell. Light modules are drawn
    (like `qrencode -t UTF8`), so it reads dark-on-light on the usual dark terminal.
    full_blocks: one module per row, two cells wide, in full blocks only (the Linux console's
    fonts lack the half blocks); taller, so it may need scrolling at 24 lines."""
    import qrcode  # lazy: a dependency of python-escpos, needed only here

    code = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    if full_blocks:
        return ["".join("  " if dark else "██" for dark in row) for row in matrix]
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    glyph = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
    return ["".join(glyph[(top, bottom)] for top, bottom in zip(matrix[y], matrix[y + 1]))
            for y in range(0, len(matrix), 2)]


def screen_lines(layout: Layout, with_qr: bool = True, full_blocks: bool = False) -> list[str]:
    """The receipt as text lines (centred lines padded), QR codes drawn in blocks."""
    out: list[str] = []
    for item in layout.items:
        if isinstance(item, Text):
            out.append(layout.placed(item))
        elif isinstance(item, QR):
            if with_qr:
                out.extend(qr_lines(item.payload, full_blocks=full_blocks))
            else:
                out.append(f"[QR {item.payload}]")
    return out
