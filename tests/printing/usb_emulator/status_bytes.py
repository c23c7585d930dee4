"""The printer's real-time status byte (DLE EOT n), shared by the in-memory fake and the USB
emulator so the two printers answer alike. Plain Python: the emulator runs under Debian's python3."""


def status_byte(n: int, online: bool, cover_open: bool, paper: str) -> int:
    b = 0x12
    if n == 1 and not online:
        b |= 0x08
    elif n == 2:
        b |= (0x04 if cover_open else 0) | (0x20 if paper == "out" else 0)
    elif n == 4:
        b |= {"ok": 0, "near_end": 0x0C, "out": 0x6C}[paper]
    return b
