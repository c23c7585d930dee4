"""Receipts: sale record -> layout (pure) -> ESC/POS bytes (python-escpos) -> a transport.

- layout.py, text.py: the receipt as lines within the paper width (CJK counted right);
- render.py: ESC/POS bytes through python-escpos (imported lazily, _escpos.py);
- transports/: one module per connection: usb (pyusb), lp (/dev/usb/lp*), tcp (9100), file; none;
- printer.py, status.py: one printer and its real-time status;
- queue.py: the print jobs' state machine (pending -> printing -> printed/failed/uncertain);
- worker.py: the till's printer thread; commands.py: what the CLI calls; screen.py: on screen.

Importing this package imports nothing heavy.
"""
