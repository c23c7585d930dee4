"""What the printer says about itself (DLE EOT real-time status), and what we make of it.

A status byte always has bits 1 and 4 set and bits 0 and 7 clear (``b & 0x93 == 0x12``);
anything else is not an answer. DLE EOT n:
  n=1 printer:   bit 3 offline
  n=2 offline cause: bit 2 cover open, bit 5 paper-end stop, bit 6 error
  n=4 paper roll: bits 2+3 (0x0C) near end, bits 5+6 (0x60) paper end
Many printers never answer over USB: "no answer" is a normal, supported case (we print and
trust the printer's buffer).
"""

from __future__ import annotations

from dataclasses import dataclass

from tui_pos.i18n import _

QUERIES = (1, 2, 4)  # the n of DLE EOT n, sent together; answers come back in this order


def is_status_byte(b: int) -> bool:
    return b & 0x93 == 0x12


@dataclass(frozen=True)
class PrinterStatus:
    """One look at the printer. available=False: we cannot reach it at all (error says why)."""

    available: bool
    answered: bool = False  # it answered a status query
    online: bool | None = None
    cover_open: bool | None = None
    paper: str | None = None  # ok | near_end | out
    error: str = ""
    configured: bool = True  # False: connection = "none"

    @property
    def can_print(self) -> bool:
        return self.available and self.online is not False and not self.cover_open and self.paper != "out"

    @property
    def state(self) -> str:
        """A short word for the status line."""
        if not self.configured:
            return "none"
        if not self.available:
            return "unavailable"
        if self.cover_open:
            return "cover_open"
        if self.paper == "out":
            return "paper_out"
        if self.online is False:
            return "offline"
        if self.paper == "near_end":
            return "paper_near_end"
        return "ready" if self.answered else "ready_no_status"

    @property
    def text(self) -> str:
        """What the cashier reads."""
        words = {
            "none": _("no printer (receipts on screen)"),
            "unavailable": _("printer unavailable: {error}").format(error=self.error) if self.error
            else _("printer unavailable"),
            "cover_open": _("printer cover open"),
            "paper_out": _("printer out of paper"),
            "offline": _("printer offline"),
            "paper_near_end": _("printer paper nearly out"),
            "ready": _("printer ready"),
            "ready_no_status": _("printer connected (it does not report paper status)"),
        }
        return words[self.state]


def parse_status(answers: bytes) -> PrinterStatus:
    """The answers to DLE EOT 1, 2, 4 (in that order; fewer if the printer stopped answering)."""
    got = [b for b in answers if is_status_byte(b)]
    if not got:
        return PrinterStatus(available=True, answered=False)
    online = not got[0] & 0x08
    cover_open = paper = None
    if len(got) > 1:
        cover_open = bool(got[1] & 0x04)
        if got[1] & 0x20:
            paper = "out"
    if len(got) > 2:
        if got[2] & 0x60 == 0x60:
            paper = "out"
        elif paper is None:
            paper = "near_end" if got[2] & 0x0C == 0x0C else "ok"
    return PrinterStatus(available=True, answered=True, online=online, cover_open=cover_open, paper=paper)
