"""Reading a QR code off a terminal screen with a real decoder (zbar), as a phone would: the
screen's cells (text with SGR colours: Textual's output, or `tmux capture-pane -e`) are drawn
into an image the way a terminal with the Linux console's palette draws them, and Debian's
`zbarimg` (zbar-tools, in the Makefile's TEST_DEBS) decodes it. Used by tests/ui/screens/test_receipts.py
and tests/e2e/test_tmux_checkout.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console
from rich.terminal_theme import TerminalTheme
from rich.text import Text

# The Linux console's VGA palette: what TERM=linux draws for ANSI colours (and default ones).
LINUX_CONSOLE = TerminalTheme(
    (0, 0, 0), (170, 170, 170),
    [(0, 0, 0), (170, 0, 0), (0, 170, 0), (170, 85, 0), (0, 0, 170), (170, 0, 170), (0, 170, 170), (170, 170, 170)],
    [(85, 85, 85), (255, 85, 85), (85, 255, 85), (255, 255, 85), (85, 85, 255), (255, 85, 255), (85, 255, 255),
     (255, 255, 255)],
)
CELL_W = 4  # pixels: a terminal cell is about twice as tall as wide, so a half block is square
LIT = {"█": (True, True), "▀": (True, False), "▄": (False, True)}  # (upper, lower half) in the foreground


def need_zbar() -> None:
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is missing: install Debian's zbar-tools (make debian-test-deps)")


def screen_image(rows: list[str], path: Path) -> Path:
    """Rows of text with SGR colours, drawn as a terminal shows them: every cell CELL_W pixels wide
    and two squares tall; block glyphs are drawn, any other character is left as its background."""
    from PIL import Image  # Pillow: python-escpos depends on it

    console = Console(width=200, color_system="truecolor", force_terminal=True)
    cells = []
    for line in rows:
        text = Text.from_ansi(line)
        cells.append([(char, text.get_style_at_offset(console, i)) for i, char in enumerate(text.plain)])
    width = max((len(row) for row in cells), default=1)
    image = Image.new("L", (width * CELL_W, len(cells) * 2 * CELL_W), 0)
    for y, row in enumerate(cells):
        for x, (char, style) in enumerate(row):
            fg = style.color.get_truecolor(LINUX_CONSOLE, foreground=True) if style.color else \
                LINUX_CONSOLE.foreground_color
            bg = style.bgcolor.get_truecolor(LINUX_CONSOLE, foreground=False) if style.bgcolor else \
                LINUX_CONSOLE.background_color
            if style.reverse:
                fg, bg = bg, fg
            for half, lit in enumerate(LIT.get(char, (False, False))):
                r, g, b = fg if lit else bg
                left, top = x * CELL_W, (2 * y + half) * CELL_W
                image.paste(int(0.299 * r + 0.587 * g + 0.114 * b), (left, top, left + CELL_W, top + CELL_W))
    image.save(path)
    return path


def zbar_decode(image: Path) -> list[str]:
    """Every QR code zbar finds in the image (one per line)."""
    proc = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 4), proc.stderr  # 4: nothing found
    return [line for line in proc.stdout.splitlines() if line]
