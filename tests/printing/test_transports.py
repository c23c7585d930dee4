"""Transports other than USB, on real sockets, FIFOs and files: a network printer on loopback
(answering DLE EOT like a real one), a character device stood in for by a FIFO, a file."""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time

import pytest

from conftest import COLA
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender
from tui_pos.printing.printer import Printer
from tui_pos.printing.queue import PrintQueue
from tui_pos.printing.transports import (
    FileTransport,
    LpTransport,
    NoneTransport,
    PrinterUnavailable,
    TcpTransport,
    WriteIncomplete,
    open_transport,
)
from tui_pos.printing.transports.usb import UsbTransport

from .fakes import printed_receipts, receipt_state


class NetworkPrinter:
    """A TCP 9100 printer on 127.0.0.1: keeps what it receives, answers DLE EOT n with the
    status bytes of a printer whose paper is `paper`; read=False: accepts but never reads."""

    def __init__(self, paper: str = "ok", read: bool = True):
        self.paper, self.read = paper, read
        self.received = bytearray()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set():
                if not self.read:
                    time.sleep(0.05)
                    continue
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    return
                self.received += data
                i = 0
                while (i := data.find(b"\x10\x04", i)) >= 0 and i + 2 < len(data):
                    n = data[i + 2]
                    conn.sendall(bytes([0x12 | ({"ok": 0, "near_end": 0x0C, "out": 0x6C}[self.paper] if n == 4
                                                else 0x20 if n == 2 and self.paper == "out" else 0)]))
                    i += 3

    def close(self) -> None:
        self._stop.set()
        self.thread.join()
        self.server.close()


@pytest.fixture
def network_printer():
    printers: list[NetworkPrinter] = []

    def make(**kwargs) -> NetworkPrinter:
        printers.append(NetworkPrinter(**kwargs))
        return printers[-1]

    yield make
    for p in printers:
        p.close()


def with_connection(shop_dir, connection: str):
    config = load_config(shop_dir)
    return dataclasses.replace(config, printer=dataclasses.replace(config.printer, connection=connection,
                                                                   write_timeout_ms=500, status_timeout_ms=200))


def one_sale(config) -> str:
    till = open_till(config, cashier="demo", keep_cart=False)
    try:
        till.scan(COLA)
        return till.pay([Tender("cash", 350)]).sale.uuid
    finally:
        till.close()


def print_now(config, uuid: str):
    queue = PrintQueue(config)
    try:
        return queue.print_sale(uuid, wait_s=0), queue.printer.last_status
    finally:
        queue.close()


@pytest.mark.parametrize("paper, state, status", [("ok", "printed", "ready"),
                                                  ("near_end", "printed", "paper_near_end"),
                                                  ("out", "failed", "paper_out")])
def test_network_printer_status_decides(shop_dir, network_printer, paper, state, status):
    """tcp:HOST:PORT: the printer's own answers to DLE EOT decide whether the receipt is sent."""
    printer = network_printer(paper=paper)
    config = with_connection(shop_dir, f"tcp:127.0.0.1:{printer.port}")
    uuid = one_sale(config)
    result, last = print_now(config, uuid)
    assert (result.state, last.state) == (state, status)
    assert receipt_state(config.db_path, uuid) == state
    time.sleep(0.2)  # let the server read what was sent
    assert len(printed_receipts(bytes(printer.received))) == (1 if state == "printed" else 0)


def test_network_printer_refusing_is_failed_not_uncertain(shop_dir):
    """Nobody listening: nothing can have been printed, so the job may be retried (failed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = with_connection(shop_dir, f"tcp:127.0.0.1:{port}")
    uuid = one_sale(config)
    result, last = print_now(config, uuid)
    assert result.state == "failed" and "refused" in result.error and last.state == "unavailable"


def test_network_printer_that_stops_reading_times_out_as_incomplete(network_printer):
    """A printer that accepts a connection and then takes no more data: the write gives up
    after its timeout and says bytes may have gone out (never a silent retry)."""
    printer = network_printer(read=False)
    transport = TcpTransport("127.0.0.1", printer.port)
    started = time.monotonic()
    with pytest.raises(WriteIncomplete) as caught:
        transport.write(b"x" * 8_000_000, timeout_s=0.3)
    assert 0.25 < time.monotonic() - started < 3
    assert 0 < caught.value.sent < 8_000_000 and "timed out" in str(caught.value)


def test_lp_device_prints_and_a_stalled_one_times_out(tmp_path):
    """lp:/dev/usb/lpN is written non-blocking with poll(): a FIFO stands in for the device.
    A reader drains it: everything arrives. Nobody reads: the pipe fills and the write
    stops after its timeout with WriteIncomplete instead of hanging the worker."""
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    transport = LpTransport(fifo)
    received = bytearray()
    reader_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)

    def drain():
        deadline = time.monotonic() + 5
        while len(received) < 200_000 and time.monotonic() < deadline:
            try:
                received.extend(os.read(reader_fd, 65536))
            except BlockingIOError:
                time.sleep(0.005)

    reader = threading.Thread(target=drain)
    reader.start()
    transport.write(b"r" * 200_000, timeout_s=2)
    reader.join()
    assert bytes(received) == b"r" * 200_000
    with pytest.raises(WriteIncomplete) as caught:
        transport.write(b"s" * 1_000_000, timeout_s=0.2)
    assert 0 < caught.value.sent < 1_000_000
    os.close(reader_fd)
    transport.close()


def test_lp_device_missing_is_unavailable(tmp_path):
    transport = LpTransport(tmp_path / "no-such-lp")
    with pytest.raises(PrinterUnavailable, match="cannot open"):
        transport.write(b"x", timeout_s=0.1)
    status = Printer(transport).probe()
    assert status.state == "unavailable"


def test_file_connection_through_the_queue(shop_dir, tmp_path):
    out = tmp_path / "receipts.bin"
    config = with_connection(shop_dir, f"file:{out}")
    uuid = one_sale(config)
    result, last = print_now(config, uuid)
    assert result.state == "printed" and last.state == "ready_no_status"
    assert printed_receipts(out.read_bytes()) == [(result.receipt, False)]


@pytest.mark.parametrize("connection, kind, attrs", [
    ("none", NoneTransport, {}),
    ("usb", UsbTransport, {"vid": None, "pid": None}),
    ("usb:0416:5011", UsbTransport, {"vid": 0x0416, "pid": 0x5011}),
    ("lp:/dev/usb/lp0", LpTransport, {"path": __import__("pathlib").Path("/dev/usb/lp0")}),
    ("tcp:192.0.2.10:9100", TcpTransport, {"host": "192.0.2.10", "port": 9100}),
    ("tcp:printer.local", TcpTransport, {"host": "printer.local", "port": 9100}),
    ("tcp:[::1]:9101", TcpTransport, {"host": "::1", "port": 9101}),
    ("file:/tmp/r.bin", FileTransport, {"path": __import__("pathlib").Path("/tmp/r.bin")}),
])
def test_connection_strings(connection, kind, attrs):
    transport = open_transport(connection)
    assert isinstance(transport, kind)
    assert {k: getattr(transport, k) for k in attrs} == attrs


@pytest.mark.parametrize("connection", ["usb:0416", "usb:zz:11", "tcp:", "tcp:host:port", "lp:", "serial:/dev/ttyS0"])
def test_bad_connection_strings_say_what_is_expected(connection):
    with pytest.raises(ValueError, match="usb|tcp"):
        open_transport(connection)
