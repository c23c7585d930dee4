"""Emulate a USB ESC/POS printer at the usbdevfs level with umockdev (for the tests).

Real pyusb -> libusb -> ioctl(/dev/bus/usb/001/002, USBDEVFS_*) calls are answered by this
handler, so the code under test runs unmodified. It serves child processes started with
LD_PRELOAD=libumockdev-preload.so.0 and UMOCKDEV_DIR (see harness.py). Runs under Debian's
/usr/bin/python3 (python3-gi, gir1.2-umockdev-1.0), not the project's venv.

Adapted from shared/reference/usb-printer-emulator/fakeprinter.py; added knobs:
unplug_after / stall_after (the printer takes this many bytes in total, then is unplugged /
stops taking data: a fault in the middle of a receipt).
"""
import errno
import struct
import threading

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402
from status_bytes import status_byte  # noqa: E402 (beside this file, as harness.py imports us)

# usbdevfs ioctl numbers (_IOC nr field, type 'U')
NR = {0: "CONTROL", 2: "BULK", 3: "RESETEP", 4: "SETINTERFACE", 5: "SETCONFIGURATION",
      8: "GETDRIVER", 10: "SUBMITURB", 11: "DISCARDURB", 12: "REAPURB", 13: "REAPURBNDELAY",
      15: "CLAIMINTERFACE", 16: "RELEASEINTERFACE", 17: "CONNECTINFO", 18: "IOCTL",
      20: "RESET", 21: "CLEAR_HALT", 26: "GET_CAPABILITIES", 27: "DISCONNECT_CLAIM",
      31: "GET_SPEED"}
URB_SIZE = 56  # sizeof(struct usbdevfs_urb) on x86_64 / aarch64 (LP64)


def make_device_description(vid=0x0416, pid=0x5011, ep_in=0x81, ep_out=0x03,
                            product="POS58 Printer USB", busnum=1, devnum=2):
    """A sysfs/udev description (umockdev text format) of a printer-class device."""
    dev = struct.pack("<BBHBBBBHHHBBBB", 18, 1, 0x0200, 0, 0, 0, 64, vid, pid, 0x0200, 1, 2, 3, 1)
    cfg = struct.pack("<BBHBBBBB", 9, 2, 32, 1, 1, 0, 0xC0, 50)
    intf = struct.pack("<BBBBBBBBB", 9, 4, 0, 0, 2, 7, 1, 2, 0)  # class 7 = printer
    e_in = struct.pack("<BBBBHB", 7, 5, ep_in, 2, 64, 0)
    e_out = struct.pack("<BBBBHB", 7, 5, ep_out, 2, 64, 0)
    hexd = (dev + cfg + intf + e_in + e_out).hex().upper()
    node = f"bus/usb/{busnum:03d}/{devnum:03d}"
    return f"""P: /devices/pci0000:00/0000:00:14.0/usb{busnum}/{busnum}-1
N: {node}={hexd}
E: BUSNUM={busnum:03d}
E: DEVNAME=/dev/{node}
E: DEVNUM={devnum:03d}
E: DEVTYPE=usb_device
E: DRIVER=usb
E: ID_BUS=usb
E: ID_VENDOR_ID={vid:04x}
E: ID_MODEL_ID={pid:04x}
E: ID_USB_INTERFACES=:070102:
E: MAJOR=189
E: MINOR={devnum - 1}
E: PRODUCT={vid:x}/{pid:x}/200
E: SUBSYSTEM=usb
A: bConfigurationValue=1
A: bDeviceClass=00
A: bNumConfigurations=1
A: bNumInterfaces= 1
A: busnum={busnum}\\n
H: descriptors={hexd}
A: dev=189:{devnum - 1}
A: devnum={devnum}\\n
A: idProduct={pid:04x}
A: idVendor={vid:04x}
A: manufacturer=Fake
A: product={product}
A: speed=12
A: version= 2.00
""", "/dev/" + node


class FakeEscposPrinter:
    """State of the emulated printer plus the umockdev ioctl handler."""

    def __init__(self, ep_in=0x81, ep_out=0x03):
        self.ep_in, self.ep_out = ep_in, ep_out
        self.received = bytearray()      # everything written to the bulk OUT endpoint
        self.log = []                    # ioctl names, in order
        self.lock = threading.Lock()
        # knobs a test can turn
        self.online = True
        self.cover_open = False
        self.paper = "ok"                # "ok" | "near_end" | "out"
        self.kernel_driver = None        # e.g. "usblp" to emulate the kernel printer driver
        self.claim_errno = 0             # e.g. errno.EBUSY
        self.unplugged = False           # ENODEV on every transfer
        self.stall_writes = False        # bulk OUT never completes -> timeout
        self.answer_status = True        # False: ignore DLE EOT (many cheap printers over USB)
        self.unplug_after = None         # bytes taken before the cable is pulled mid-transfer
        self.stall_after = None          # bytes taken before the printer stops taking data
        # internals: usbfs URBs belong to the fd (client) that submitted them
        self._clients = {}               # client -> {"in": [...], "out": [...], "reap": [...]}
        self._tx = bytearray()           # bytes queued for the host (status answers)
        self.handler = UMockdev.IoctlBase()
        self.handler.connect("handle-ioctl", self._on_ioctl)

    # ---- ESC/POS side -------------------------------------------------
    def _status_byte(self, n):
        return status_byte(n, self.online, self.cover_open, self.paper)

    def _consume(self, data):
        self.received += data
        if not self.answer_status:
            return
        i = 0
        while True:
            i = data.find(b"\x10\x04", i)
            if i < 0 or i + 2 >= len(data):
                break
            self._tx.append(self._status_byte(data[i + 2]))
            i += 3
        self._feed_pending_in()

    def _feed_pending_in(self):
        for q in self._clients.values():
            while self._tx and q["in"]:
                urb, buf, length = q["in"].pop(0)
                chunk, self._tx[:] = bytes(self._tx[:length]), self._tx[length:]
                buf.update(0, chunk)
                urb.update(4, struct.pack("<i", 0))
                urb.update(28, struct.pack("<i", len(chunk)))
                q["reap"].append(urb)

    # ---- usbdevfs side ------------------------------------------------
    def _on_ioctl(self, handler, client):
        req = client.get_request()
        nr, typ = req & 0xFF, (req >> 8) & 0xFF
        name = NR.get(nr, f"?{nr}") if typ == ord("U") else f"other:{req:#x}"
        arg = client.get_arg()
        with self.lock:
            self.log.append(name)
            q = self._clients.setdefault(client, {"in": [], "out": [], "reap": []})
            res, err = self._dispatch(name, arg, q)
        client.complete(res, err)
        return True

    def _dispatch(self, name, arg, q):
        if name == "GET_CAPABILITIES":
            arg.resolve(0, 4).update(0, struct.pack("<I", 0))
            return 0, 0
        if name == "GETDRIVER":
            if self.kernel_driver is None:
                return -1, errno.ENODATA
            d = arg.resolve(0, 4 + 256)
            d.update(4, self.kernel_driver.encode() + b"\0")
            return 0, 0
        if name == "IOCTL":  # USBDEVFS_IOCTL(USBDEVFS_DISCONNECT) = detach kernel driver
            if self.kernel_driver is None:
                return -1, errno.ENODATA
            self.kernel_driver = None
            return 0, 0
        if name == "CLAIMINTERFACE":
            return (-1, self.claim_errno) if self.claim_errno else (0, 0)
        if name in ("SETCONFIGURATION", "RELEASEINTERFACE", "RESET", "CLEAR_HALT",
                    "SETINTERFACE", "RESETEP"):
            return (-1, errno.ENODEV) if self.unplugged else (0, 0)
        if name == "SUBMITURB":
            return self._submit(arg, q)
        if name in ("REAPURB", "REAPURBNDELAY"):
            if q["out"] and not self.stall_writes:   # printer recovered
                for urb, buf, length in q["out"]:
                    self._consume(bytes(buf.retrieve()) if buf else b"")
                    urb.update(4, struct.pack("<i", 0))
                    urb.update(28, struct.pack("<i", length))
                    q["reap"].append(urb)
                q["out"].clear()
            if self.unplugged and not q["reap"]:
                return -1, errno.ENODEV
            if not q["reap"]:
                return -1, errno.EAGAIN
            urb = q["reap"].pop(0)
            slot = arg.resolve(0, 8)
            slot.set_ptr(0, urb)         # *arg = address of the finished URB
            return 0, 0
        if name == "DISCARDURB":         # libusb cancels on timeout
            addr = struct.unpack("<Q", bytes(arg.retrieve()))[0]
            for lst in (q["in"], q["out"]):
                for item in list(lst):
                    if item[0].client_addr == addr:
                        lst.remove(item)
                        item[0].update(4, struct.pack("<i", -errno.ENOENT))
                        item[0].update(28, struct.pack("<i", 0))
                        q["reap"].append(item[0])
                        return 0, 0
            return -1, errno.EINVAL
        return -1, errno.ENOTTY

    def _submit(self, arg, q):
        if self.unplugged:
            return -1, errno.ENODEV
        urb = arg.resolve(0, URB_SIZE)
        raw = bytes(urb.retrieve())
        utype, ep = raw[0], raw[1]
        length = struct.unpack_from("<i", raw, 24)[0]
        buf = urb.resolve(16, length) if length else None
        if utype != 3:                   # only bulk is emulated
            return -1, errno.EINVAL
        if ep == self.ep_out:
            data = bytes(buf.retrieve()) if buf else b""
            if self.unplug_after is not None and len(self.received) + len(data) > self.unplug_after:
                self.received += data[:max(self.unplug_after - len(self.received), 0)]
                self.unplugged, self.unplug_after = True, None
                return -1, errno.ENODEV
            if self.stall_after is not None and len(self.received) + len(data) > self.stall_after:
                self.received += data[:max(self.stall_after - len(self.received), 0)]
                self.stall_writes, self.stall_after = True, None
                q["out"].append((urb, None, length))  # the rest never completes
                return 0, 0
            if self.stall_writes:
                q["out"].append((urb, buf, length))
                return 0, 0
            self._consume(data)
            urb.update(4, struct.pack("<i", 0))
            urb.update(28, struct.pack("<i", length))
            q["reap"].append(urb)
            return 0, 0
        if ep == self.ep_in:
            q["in"].append((urb, buf, length))
            self._feed_pending_in()
            return 0, 0
        return -1, errno.ENOENT          # wrong endpoint address


def make_testbed(printer=None, **devkw):
    """Create a Testbed with one fake printer; returns (testbed, printer, devnode)."""
    printer = printer or FakeEscposPrinter(devkw.get("ep_in", 0x81), devkw.get("ep_out", 0x03))
    tb = UMockdev.Testbed.new()
    desc, devnode = make_device_description(**devkw)
    tb.add_from_string(desc)
    tb.attach_ioctl(devnode, printer.handler)
    return tb, printer, devnode
