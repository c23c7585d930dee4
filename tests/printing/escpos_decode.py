"""A small ESC/POS interpreter for the tests: bytes -> printed lines + events.

Written from the ESC/POS command reference, independent of tui_pos and python-escpos (adapted
from shared/reference/usb-printer-emulator/escpos_decode.py). Unknown commands raise, so new
output is noticed. Each line keeps its raw text bytes: on a single-byte code page and in GBK
alike, one byte is one column of Font A, so ``len(line.raw)`` is the printed width, measured
without any width function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CODEPAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858"}


@dataclass
class Line:
    text: str
    raw: bytes
    align: str = "left"
    bold: bool = False
    tall: bool = False
    wide: bool = False

    @property
    def columns(self) -> int:
        return len(self.raw) * (2 if self.wide else 1)


@dataclass
class Decoded:
    lines: list[Line] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    def kinds(self, kind: str) -> list[tuple]:
        return [e for e in self.events if e[0] == kind]


def decode(data: bytes) -> Decoded:
    out = Decoded()
    st = {"align": "left", "bold": False, "tall": False, "wide": False, "cp": 0, "cjk": False}
    raw = bytearray()  # text bytes of the current line
    parts: list[str] = []
    run = bytearray()  # text bytes since the last command (one encoding)

    def text_of(buf: bytes) -> str:
        if st["cjk"]:
            return buf.decode("gb18030", errors="replace")
        return buf.decode(CODEPAGES.get(st["cp"], "cp437"), errors="replace")

    def flush() -> None:
        if run:
            parts.append(text_of(bytes(run)))
            run.clear()

    def newline() -> None:
        flush()
        out.lines.append(Line("".join(parts), bytes(raw), st["align"], st["bold"], st["tall"], st["wide"]))
        parts.clear()
        raw.clear()

    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 0x0A:
            newline()
            i += 1
        elif b == 0x0D:
            i += 1
        elif b == 0x1B:  # ESC
            flush()
            c = data[i + 1]
            if c == 0x40:
                st.update(align="left", bold=False, tall=False, wide=False, cp=0)
                out.events.append(("init",))
                i += 2
            elif c == 0x45:
                st["bold"] = bool(data[i + 2] & 1)
                i += 3
            elif c == 0x61:
                st["align"] = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}[data[i + 2]]
                i += 3
            elif c == 0x21:
                m = data[i + 2]
                st.update(bold=bool(m & 0x08), tall=bool(m & 0x10), wide=bool(m & 0x20))
                i += 3
            elif c == 0x74:
                st["cp"] = data[i + 2]
                out.events.append(("codepage", data[i + 2]))
                i += 3
            elif c == 0x64:
                out.events.append(("feed", data[i + 2]))
                i += 3
            elif c == 0x70:
                out.events.append(("drawer", data[i + 2] & 1, data[i + 3], data[i + 4]))
                i += 5
            elif c in (0x2D, 0x4D, 0x47, 0x7B, 0x4A, 0x33, 0x52, 0x20, 0x56):
                i += 3
            elif c == 0x32:
                i += 2
            else:
                raise ValueError(f"unknown ESC {c:#x} at {i}")
        elif b == 0x1D:  # GS
            flush()
            c = data[i + 1]
            if c == 0x21:
                st.update(wide=bool(data[i + 2] & 0x70), tall=bool(data[i + 2] & 0x07))
                i += 3
            elif c == 0x56:
                m = data[i + 2]
                out.events.append(("cut", "partial" if m in (1, 49, 66) else "full"))
                i += 4 if m in (65, 66) else 3
            elif c == 0x76 and data[i + 2] == 0x30:  # GS v 0: raster image
                xb = data[i + 4] | data[i + 5] << 8
                y = data[i + 6] | data[i + 7] << 8
                out.events.append(("image", xb * 8, y))
                i += 8 + xb * y
            elif c == 0x28:  # GS ( k and friends: pL pH cn fn ...
                p = data[i + 3] | data[i + 4] << 8
                if data[i + 2] == 0x6B and data[i + 5] == 0x31:
                    fn = data[i + 6]
                    if fn == 0x50:
                        out.events.append(("qr", data[i + 8:i + 5 + p].decode("utf-8")))
                    elif fn == 0x51:
                        out.events.append(("qr_print",))
                    elif fn == 0x43:
                        out.events.append(("qr_size", data[i + 7]))
                i += 5 + p
            elif c in (0x42, 0x68, 0x77, 0x48, 0x66, 0x62, 0x61, 0x72):
                i += 3
            else:
                raise ValueError(f"unknown GS {c:#x} at {i}")
        elif b == 0x1C:  # FS
            flush()
            c = data[i + 1]
            if c == 0x26:
                st["cjk"] = True
                out.events.append(("cjk_on",))
                i += 2
            elif c == 0x2E:
                st["cjk"] = False
                i += 2
            elif c == 0x21:
                i += 3
            else:
                raise ValueError(f"unknown FS {c:#x} at {i}")
        elif b == 0x10 and i + 1 < n and data[i + 1] == 0x04:  # DLE EOT n
            flush()
            out.events.append(("status_query", data[i + 2]))
            i += 3
        elif b < 0x20:
            raise ValueError(f"unknown control byte {b:#x} at {i}")
        else:
            run.append(b)
            raw.append(b)
            i += 1
    flush()
    if parts:
        out.lines.append(Line("".join(parts), bytes(raw), st["align"], st["bold"], st["tall"], st["wide"]))
    return out
