"""Run a command against an emulated USB ESC/POS printer, with a control channel.

usage: /usr/bin/python3 harness.py KNOBS_JSON OUT_DIR -- CMD...

KNOBS_JSON sets FakeEscposPrinter attributes at the start (e.g. {"paper": "out"}). CMD runs
with LD_PRELOAD=libumockdev-preload.so.0 and UMOCKDEV_DIR (so libusb sees the fake printer)
and FAKE_PRINTER_CONTROL=<fd>: a socket on which it may send JSON lines
  {"set": {"paper": "ok"}}   -> change knobs;   {"get": true} -> nothing changed
and gets back {"received": <bytes so far>, "knobs": {...}} each time.
At the end OUT_DIR/received.bin holds every byte the printer received and OUT_DIR/log.json
the ioctls seen and the final knobs.
(Needs python3-gi and gir1.2-umockdev-1.0: run with Debian's /usr/bin/python3.)
"""

import json
import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakeprinter import make_testbed  # noqa: E402

KNOBS = ("online", "cover_open", "paper", "kernel_driver", "claim_errno", "unplugged", "stall_writes",
         "answer_status", "unplug_after", "stall_after")


def knobs_of(fake):
    return {k: getattr(fake, k) for k in KNOBS}


def serve(sock, fake):
    stream = sock.makefile("rwb", buffering=0)
    for line in stream:
        request = json.loads(line)
        with fake.lock:
            for key, value in request.get("set", {}).items():
                if key not in KNOBS:
                    raise SystemExit(f"unknown knob {key}")
                setattr(fake, key, value)
            reply = {"received": len(fake.received), "knobs": knobs_of(fake)}
        stream.write(json.dumps(reply).encode() + b"\n")


def main():
    knobs, out_dir = json.loads(sys.argv[1]), sys.argv[2]
    cmd = sys.argv[4:] if sys.argv[3] == "--" else sys.argv[3:]
    tb, fake, _ = make_testbed()
    for key, value in knobs.items():
        setattr(fake, key, value)
    ours, theirs = socket.socketpair()
    threading.Thread(target=serve, args=(ours, fake), daemon=True).start()
    env = dict(os.environ, UMOCKDEV_DIR=tb.get_root_dir(), LD_PRELOAD="libumockdev-preload.so.0",
               FAKE_PRINTER_CONTROL=str(theirs.fileno()))
    rc = subprocess.call(cmd, env=env, pass_fds=[theirs.fileno()])
    with fake.lock:
        with open(os.path.join(out_dir, "received.bin"), "wb") as f:
            f.write(bytes(fake.received))
        with open(os.path.join(out_dir, "log.json"), "w") as f:
            json.dump({"ioctls": sorted(set(fake.log)), "knobs": knobs_of(fake)}, f)
    sys.exit(rc)


if __name__ == "__main__":
    main()
