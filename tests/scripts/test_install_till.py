"""scripts/install-till.sh, without touching this machine: shellcheck, --help, and real runs into
a temporary root (--root) and as a dry run. What must not run here (useradd, apt-get, pip,
systemctl) is checked in the commands it prints."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
INSTALLER = SCRIPTS / "install-till.sh"

# Every file the installer writes, by path under the root: (mode, what it is a copy of, or None)
INSTALLED = {
    "etc/systemd/system/tui-pos.service": (0o644, SCRIPTS / "tui-pos.service"),
    "etc/udev/rules.d/99-tui-pos-printer.rules": (0o644, SCRIPTS / "99-tui-pos-printer.rules"),
    "etc/sudoers.d/tui-pos-support": (0o440, SCRIPTS / "tui-pos-support.sudoers"),
    "opt/tui-pos/tmux.conf": (0o644, SCRIPTS / "tui-pos-tmux.conf"),
    "opt/tui-pos/README.md": (0o644, SCRIPTS.parent / "README.md"),
    "usr/local/bin/tui-pos": (0o755, None),
}
SYSTEM_COMMANDS = [  # in this order (groupadd, useradd, apt-get only when this machine lacks them)
    "+ usermod --append --groups lp tui-pos",
    "+ chown tui-pos:tui-pos /var/lib/tui-pos",
    "+ /usr/bin/python3 -m venv /opt/tui-pos/venv",
    f"+ /opt/tui-pos/venv/bin/pip install --quiet --upgrade {SCRIPTS.parent}",
    "+ runuser -u tui-pos -- /usr/local/bin/tui-pos init",
    "+ udevadm control --reload",
    "+ systemctl daemon-reload",
    "+ systemctl disable getty@tty1.service",
    "+ systemctl enable tui-pos.service",
]


def install(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(INSTALLER), *args], capture_output=True, text=True, timeout=60)


def files_under(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*") if p.is_file()}


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck is not installed (CI installs it: Makefile TEST_DEBS)")
def test_shellcheck_finds_nothing() -> None:
    proc = subprocess.run(["shellcheck", str(INSTALLER)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout


def test_help_and_a_wrong_option() -> None:
    helped = install("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: scripts/install-till.sh ")
    assert all(option in helped.stdout for option in ("--demo", "--root DIR", "--dry-run"))
    wrong = install("--bogus")
    assert (wrong.returncode, wrong.stdout, wrong.stderr) == (2, "", "install-till.sh: unknown option '--bogus' (see --help)\n")


def test_an_install_into_a_root_writes_every_file_and_only_prints_the_system_commands(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = install("--root", str(root), "--demo")
    assert first.returncode == 0, first.stderr
    assert files_under(root) == {path: mode for path, (mode, _) in INSTALLED.items()}
    for path, (_, source) in INSTALLED.items():
        if source is not None:
            assert (root / path).read_bytes() == source.read_bytes(), path
    assert (root / "usr/local/bin/tui-pos").read_text().splitlines()[-1] == \
        'TUI_POS_DATA_DIR="${TUI_POS_DATA_DIR:-/var/lib/tui-pos}" exec /opt/tui-pos/venv/bin/tui-pos "$@"'
    data_dir = root / "var/lib/tui-pos"
    assert data_dir.is_dir() and stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    printed = [line for line in first.stdout.splitlines() if line.startswith("+ ")]
    expected = [c + " --demo" if c.endswith(" init") else c for c in SYSTEM_COMMANDS]
    assert [line for line in printed if line in expected] == expected

    again = install("--root", str(root), "--demo")  # idempotent: same files, same modes, exit 0
    assert again.returncode == 0, again.stderr
    assert files_under(root) == {path: mode for path, (mode, _) in INSTALLED.items()}


def test_a_dry_run_writes_nothing_and_prints_every_step(tmp_path: Path) -> None:
    root = tmp_path / "root"
    proc = install("--dry-run", "--root", str(root))
    assert proc.returncode == 0, proc.stderr
    assert not root.exists()
    printed = proc.stdout.splitlines()
    assert f"+ install -D -m 0644 {SCRIPTS / 'tui-pos.service'} {root}/etc/systemd/system/tui-pos.service" in printed
    assert f"+ install -d -m 0700 {root}/var/lib/tui-pos" in printed
    assert [line for line in printed if line in SYSTEM_COMMANDS] == SYSTEM_COMMANDS


@pytest.mark.skipif(shutil.which("visudo") is None, reason="visudo is not installed (CI installs sudo: Makefile TEST_DEBS)")
def test_sudoers_file_is_valid() -> None:
    proc = subprocess.run(["visudo", "-cf", str(SCRIPTS / "tui-pos-support.sudoers")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


DROP_IN = "etc/systemd/system/tui-pos.service.d/chinese-console.conf"


def test_chinese_console_installs_the_fbterm_drop_in_and_a_reinstall_keeps_it(tmp_path: Path) -> None:
    """Issue 16: --chinese-console adds fbterm and a CJK font to the packages and the drop-in to
    the unit, verified with systemd-analyze; a plain reinstall keeps it; --kernel-console removes it."""
    root = tmp_path / "root"
    chinese = install("--root", str(root), "--chinese-console")
    assert chinese.returncode == 0, chinese.stderr
    assert files_under(root) == {**{path: mode for path, (mode, _) in INSTALLED.items()}, DROP_IN: 0o644}
    assert (root / DROP_IN).read_bytes() == (SCRIPTS / "tui-pos-chinese-console.conf").read_bytes()
    printed = chinese.stdout.splitlines()
    assert "+ systemd-analyze verify /etc/systemd/system/tui-pos.service" in printed
    apt = [line for line in printed if "apt-get install" in line]
    assert not apt or {"fbterm", "fonts-wqy-zenhei"} <= set(apt[0].split())  # only what this machine lacks

    again = install("--root", str(root))
    assert again.returncode == 0 and (root / DROP_IN).exists()
    assert "the Chinese console stays" in again.stdout

    kernel = install("--root", str(root), "--kernel-console")
    assert kernel.returncode == 0 and not (root / DROP_IN).exists()
    assert files_under(root) == {path: mode for path, (mode, _) in INSTALLED.items()}


def test_a_dry_run_of_the_chinese_console_prints_its_drop_in(tmp_path: Path) -> None:
    proc = install("--dry-run", "--root", str(tmp_path / "root"), "--chinese-console")
    assert proc.returncode == 0, proc.stderr
    assert f"+ install -D -m 0644 {SCRIPTS / 'tui-pos-chinese-console.conf'} {tmp_path}/root/{DROP_IN}" in proc.stdout
