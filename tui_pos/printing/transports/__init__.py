"""Transports move rendered bytes to a printer and read its status answers back: one module
per kind of connection (usb, lp, tcp, file; none is in base), and open_transport(), which
makes one from a [printer] connection string. The rule every transport keeps (whether any byte
of a job may have reached the printer) is in base.py.

Importing this package imports no printer library: pyusb is imported by the USB transport
when it first looks for a device.
"""

from __future__ import annotations

from pathlib import Path

from tui_pos.domain.errors import N_, Said
from tui_pos.printing.transports.base import (
    CHUNK,
    NoneTransport,
    PrinterUnavailable,
    Transport,
    WriteIncomplete,
    describe,
)
from tui_pos.printing.transports.file import FileTransport
from tui_pos.printing.transports.lp import LpTransport
from tui_pos.printing.transports.tcp import TcpTransport
from tui_pos.printing.transports.usb import UsbTransport, parse_usb_ids

__all__ = ["CHUNK", "FileTransport", "LpTransport", "NoneTransport", "PrinterUnavailable", "TcpTransport", "Transport",
           "UsbTransport", "WriteIncomplete", "describe", "open_transport"]


def open_transport(connection: str, write_timeout_s: float = 3.0) -> Transport:
    """A transport for a [printer] connection string (ValueError if it is malformed)."""
    kind, _, rest = connection.strip().partition(":")
    if kind == "none" and not rest:
        return NoneTransport()
    if kind == "usb":
        vid, pid = parse_usb_ids(rest) if rest else (None, None)
        return UsbTransport(vid, pid)
    if kind == "lp" and rest:
        return LpTransport(Path(rest))
    if kind == "file" and rest:
        return FileTransport(Path(rest).expanduser())
    if kind == "tcp" and rest:
        host, port = rest, "9100"
        if rest.startswith("[") and "]" in rest:  # [IPv6]:port
            host, _, tail = rest[1:].partition("]")
            port = tail.lstrip(":") or port
        elif rest.count(":") == 1:
            host, _, port = rest.partition(":")
        if not port.isdigit() or not host:
            raise ValueError(Said(N_("printer connection {connection}: expected tcp:HOST:PORT, e.g. tcp:192.0.2.10:9100"),
                                  connection=repr(connection)))
        return TcpTransport(host, int(port))
    raise ValueError(Said(N_("printer connection {connection}: use none, usb, usb:VID:PID, lp:/dev/usb/lp0, "
                             "tcp:HOST:9100 or file:PATH"), connection=repr(connection)))
