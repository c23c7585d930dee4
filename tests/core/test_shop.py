"""Reading a catalog file: a regular file of UTF-8 text of bounded size, or a message (never a
read of /dev/zero until MemoryError)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tui_pos.config import load_config
from tui_pos.core.errors import BadInput
from tui_pos.core.shop import import_catalog_file

ONE_GB = 2**30
MAX_CATALOG_BYTES = 32 * 2**20  # tui_pos.core.shop.MAX_CATALOG_BYTES


def import_in_a_small_process(shop: Path, path: str) -> subprocess.CompletedProcess[str]:
    """import_catalog_file in a process that may use 1 GB at most: an endless read fails fast there
    (as MemoryError) instead of eating the machine's memory."""
    code = ("import sys; from pathlib import Path; from tui_pos.config import load_config; "
            "from tui_pos.core.errors import BadInput; from tui_pos.core.shop import import_catalog_file\n"
            "try:\n import_catalog_file(load_config(Path(sys.argv[1])), Path(sys.argv[2]))\n"
            "except BadInput as err:\n print(err)")
    return subprocess.run([sys.executable, "-c", code, str(shop), path], capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (ONE_GB, ONE_GB)))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_not_read(shop_dir, device):
    proc = import_in_a_small_process(shop_dir, device)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{device} is not a regular file: export the catalog to a .csv file and import that"


def test_a_fifo_is_refused_without_waiting_for_a_writer(shop_dir, tmp_path):
    fifo = tmp_path / "catalog.csv"
    os.mkfifo(fifo)
    proc = import_in_a_small_process(shop_dir, str(fifo))
    assert "is not a regular file" in proc.stdout, proc.stderr


def test_binary_content_is_refused(shop_dir, tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(b"barcode,name,price,tax\n1,x\x00y,1.00,A\n")
    with pytest.raises(BadInput, match="holds binary data, not CSV text"):
        import_catalog_file(load_config(shop_dir), path)


def test_a_file_past_the_size_cap_is_refused_without_reading_it_all(shop_dir, tmp_path):
    path = tmp_path / "catalog.csv"
    with path.open("wb") as out:
        out.write(b"barcode,name,price,tax\n")
        out.truncate(MAX_CATALOG_BYTES + 1)  # sparse: no disk used
    with pytest.raises(BadInput, match=r"is larger than 32 MB"):
        import_catalog_file(load_config(shop_dir), path)
