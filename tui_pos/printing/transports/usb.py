"""USB receipt printers through pyusb/libusb, without python-escpos's Usb class.

What escpos.printer.Usb does that a till cannot use (see shared/reference/README.md): it needs
the endpoints given (0x82/0x01 by default, wrong for many printers), resets the device on every
open(), detaches the kernel driver of interface 0 only, blocks forever on a stalled write
(timeout=0) and waits a fixed 1000 ms for every status answer. Here:

- the device is found by VID:PID, or as the first printer-class (7) interface on the bus;
- its bulk OUT/IN endpoints are read from the descriptors;
- the kernel driver (usblp) of that interface is detached, the interface claimed (EBUSY ->
  "busy"), the device never reset;
- writes and status reads have their own short timeouts.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_pos.domain.errors import N_, Said
from tui_pos.printing.transports.base import PrinterUnavailable, Transport, describe

PRINTER_CLASS = 7


def parse_usb_ids(text: str) -> tuple[int, int]:
    """'0416:5011' -> (0x0416, 0x5011)."""
    vid, _, pid = text.partition(":")
    try:
        return int(vid, 16), int(pid, 16)
    except ValueError:
        raise ValueError(Said(N_("usb:{ids}: expected usb:VID:PID in hex, e.g. usb:0416:5011"), ids=text)) from None


def _usb() -> Any:
    try:
        import usb.core
        import usb.util
    except ImportError as err:  # pragma: no cover - a dependency of tui-pos
        raise PrinterUnavailable(f"pyusb is not installed ({err})") from None
    return usb


@dataclass(frozen=True)
class UsbPrinterInfo:
    vid: int
    pid: int
    bus: int
    address: int
    interface: int
    interface_class: int
    out_ep: int
    in_ep: int | None
    manufacturer: str = ""
    product: str = ""

    @property
    def connection(self) -> str:
        return f"usb:{self.vid:04x}:{self.pid:04x}"

    def as_dict(self) -> dict[str, Any]:
        return {"connection": self.connection, "vid": f"{self.vid:04x}", "pid": f"{self.pid:04x}", "bus": self.bus,
                "address": self.address, "interface": self.interface, "printer_class": self.interface_class == 7,
                "out_ep": f"0x{self.out_ep:02x}", "in_ep": f"0x{self.in_ep:02x}" if self.in_ep is not None else None,
                "manufacturer": self.manufacturer, "product": self.product}


def _endpoints(intf: Any, usb: Any) -> tuple[int | None, int | None]:
    out_ep = in_ep = None
    for ep in intf:
        if usb.util.endpoint_type(ep.bmAttributes) != usb.util.ENDPOINT_TYPE_BULK:
            continue
        if usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_OUT:
            out_ep = out_ep if out_ep is not None else ep.bEndpointAddress
        else:
            in_ep = in_ep if in_ep is not None else ep.bEndpointAddress
    return out_ep, in_ep


def _printer_interface(dev: Any, usb: Any, any_class: bool) -> tuple[Any, int, int | None] | None:
    """The device's printer interface: class 7 first; with any_class (a VID:PID was given), also
    the vendor-specific bulk interface many cheap printers have."""
    candidates: list[tuple[Any, int, int | None]] = []  # (interface, out endpoint, in endpoint)
    try:
        for cfg in dev:
            for intf in cfg:
                out_ep, in_ep = _endpoints(intf, usb)
                if out_ep is None:
                    continue
                if intf.bInterfaceClass == PRINTER_CLASS:
                    candidates.insert(0, (intf, out_ep, in_ep))
                elif any_class:
                    candidates.append((intf, out_ep, in_ep))
    except usb.core.USBError:
        return None
    return candidates[0] if candidates else None


def _sysfs_strings(dev: Any) -> tuple[str, str]:
    """Manufacturer and product from sysfs (reading them from the device needs control
    transfers, which a busy printer or the test emulator may not answer)."""
    root = Path("/sys/bus/usb/devices")
    try:
        for entry in root.iterdir():
            try:
                if (int((entry / "busnum").read_text()) == dev.bus
                        and int((entry / "devnum").read_text()) == dev.address):
                    return _sysfs_text(entry / "manufacturer"), _sysfs_text(entry / "product")
            except (OSError, ValueError):
                continue
    except OSError:
        pass
    return "", ""


def _sysfs_text(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def list_printers() -> list[UsbPrinterInfo]:
    """Every USB device with a printer-class interface (what `tui-pos printer list` shows)."""
    usb = _usb()
    try:
        devices = list(usb.core.find(find_all=True))
    except (usb.core.NoBackendError, usb.core.USBError) as err:
        raise PrinterUnavailable(f"cannot list USB devices: {describe(err)}") from None
    found = []
    for dev in devices:
        match = _printer_interface(dev, usb, any_class=False)
        if match is None:
            continue
        intf, out_ep, in_ep = match
        manufacturer, product = _sysfs_strings(dev)
        found.append(UsbPrinterInfo(dev.idVendor, dev.idProduct, dev.bus, dev.address, intf.bInterfaceNumber,
                                    intf.bInterfaceClass, out_ep, in_ep, manufacturer, product))
        usb.util.dispose_resources(dev)
    return found


class UsbTransport(Transport):
    def __init__(self, vid: int | None = None, pid: int | None = None):
        self.vid, self.pid = vid, pid
        self.description = f"usb {vid:04x}:{pid:04x}" if vid is not None else "usb (first printer found)"
        self._dev: Any = None
        self._intf: int | None = None
        self._out_ep: int | None = None
        self._in_ep: int | None = None

    def _find(self, usb: Any) -> tuple[Any, Any, int, int | None]:
        try:
            if self.vid is not None:
                devices = list(usb.core.find(find_all=True, idVendor=self.vid, idProduct=self.pid))
            else:
                devices = list(usb.core.find(find_all=True))
        except (usb.core.NoBackendError, usb.core.USBError) as err:
            raise PrinterUnavailable(f"cannot list USB devices: {describe(err)}") from None
        for dev in devices:
            match = _printer_interface(dev, usb, any_class=self.vid is not None)
            if match is not None:
                return (dev, *match)
        what = f"{self.vid:04x}:{self.pid:04x}" if self.vid is not None else "with a printer interface"
        raise PrinterUnavailable(f"no USB printer {what} (unplugged or switched off?)")

    def open(self) -> None:
        if self._dev is not None:
            return
        usb = _usb()
        dev, intf, out_ep, in_ep = self._find(usb)
        number = intf.bInterfaceNumber
        try:
            try:
                if dev.is_kernel_driver_active(number):
                    dev.detach_kernel_driver(number)  # usblp holds it: it is ours now
            except NotImplementedError:
                pass
            try:
                dev.get_active_configuration()
            except usb.core.USBError:
                dev.set_configuration()
            usb.util.claim_interface(dev, number)
        except usb.core.USBError as err:
            usb.util.dispose_resources(dev)
            raise PrinterUnavailable(f"USB printer {dev.idVendor:04x}:{dev.idProduct:04x}: {describe(err)}",
                                     busy=err.errno == errno.EBUSY) from None
        self._dev, self._intf, self._out_ep, self._in_ep = dev, number, out_ep, in_ep

    def write_chunk(self, chunk: bytes, timeout_s: float) -> int:
        assert self._dev is not None
        return int(self._dev.write(self._out_ep, chunk, timeout=max(1, int(timeout_s * 1000))))

    def read(self, size: int, timeout_s: float) -> bytes:
        if self._dev is None or self._in_ep is None:
            return b""
        usb = _usb()
        try:
            return bytes(self._dev.read(self._in_ep, max(size, 64), timeout=max(1, int(timeout_s * 1000))))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as err:
            if err.errno == errno.ETIMEDOUT:
                return b""
            self.close()
            raise PrinterUnavailable(f"USB printer: {describe(err)}") from None

    def check(self) -> None:
        if self._dev is None:
            self.open()
            return
        usb = _usb()
        try:
            self._dev.get_active_configuration()  # fails once the device is gone
        except usb.core.USBError as err:
            self.close()
            raise PrinterUnavailable(f"USB printer: {describe(err)}") from None

    def close(self) -> None:
        if self._dev is None:
            return
        usb = _usb()
        try:
            usb.util.release_interface(self._dev, self._intf)
        except Exception:  # noqa: BLE001 - already gone
            pass
        try:
            usb.util.dispose_resources(self._dev)
        except Exception:  # noqa: BLE001
            pass
        self._dev = None
