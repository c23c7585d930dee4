#!/usr/bin/env bash
# Install tui-pos as a till on Debian: run it from a checkout of the repository, as root.
# Safe to run again (to upgrade, or to repair a till): every step checks or overwrites.
set -euo pipefail
umask 022  # what goes to /opt, /etc and /usr/local is readable by the till's user; its data stays 0700

TILL_USER=tui-pos
SUPPORT_GROUP=tui-pos-support
DATA_DIR=/var/lib/tui-pos
PREFIX=/opt/tui-pos
DEBS=(tmux python3-venv libusb-1.0-0 sudo)
SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=""
DRY_RUN=0
DEMO=0
CONSOLE=""  # chinese: install the fbterm drop-in; kernel: remove it; "": leave it as it is
CONSOLE_DEBS=(fbterm fonts-wqy-zenhei)
DROP_IN=/etc/systemd/system/tui-pos.service.d/chinese-console.conf

usage() {
	cat <<EOF
Usage: scripts/install-till.sh [--demo] [--chinese-console | --kernel-console] [--root DIR] [--dry-run]

Installs tui-pos from this checkout ($SOURCE) as a till that starts at boot on tty1:
  - Debian packages: ${DEBS[*]}
  - user $TILL_USER (in group lp, for USB printers), group $SUPPORT_GROUP for support engineers
  - data directory $DATA_DIR (0700, owned by $TILL_USER), initialised with 'tui-pos init'
  - a venv in $PREFIX/venv, the command /usr/local/bin/tui-pos (uses $DATA_DIR)
  - the udev rule for USB receipt printers, sudo rights for $SUPPORT_GROUP (watch the till
    read-only, run the tui-pos command line as $TILL_USER)
  - tui-pos.service, enabled (getty@tty1 disabled); start it with 'systemctl start tui-pos'
    or by rebooting.

Options:
  --demo       initialise the data directory with the demo shop (demo/1234, manager/9999)
  --chinese-console
               run the till on a console that draws Chinese: fbterm on the frame buffer with
               the WenQuanYi Zen Hei font (Debian packages ${CONSOLE_DEBS[*]}), as the
               drop-in $DROP_IN, checked with systemd-analyze verify
  --kernel-console
               back to the kernel's console (removes that drop-in); without either option
               a reinstall keeps the console the till has
  --root DIR   write the files under DIR instead of /, and only print the commands that
               change users, packages or services (to inspect or package an installation)
  --dry-run    change nothing: print every file and command instead
  -h, --help   this text
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--demo) DEMO=1 ;;
	--chinese-console) CONSOLE=chinese ;;
	--kernel-console) CONSOLE=kernel ;;
	--root)
		[ $# -ge 2 ] || { echo "install-till.sh: --root needs a directory" >&2; exit 2; }
		ROOT=$2
		shift
		;;
	--root=*) ROOT=${1#--root=} ;;
	--dry-run) DRY_RUN=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "install-till.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$ROOT" ] && [ "$DRY_RUN" = 0 ]; then
	mkdir -p "$ROOT"
	ROOT=$(cd "$ROOT" && pwd)
fi
if [ "$DRY_RUN" = 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
	echo "install-till.sh: run as root (or try --dry-run / --root DIR)" >&2
	exit 1
fi

say() { printf '%s\n' "$*"; }

# A command that changes the system: run it, or print it with --dry-run or --root.
system() {
	if [ "$DRY_RUN" = 1 ] || [ -n "$ROOT" ]; then
		printf '+'; printf ' %q' "$@"; printf '\n'
	else
		"$@"
	fi
}

# put MODE SOURCE_FILE DEST: install a file (under --root DIR; printed with --dry-run).
put() {
	if [ "$DRY_RUN" = 1 ]; then
		printf '+ install -D -m %s %q %q\n' "$1" "$2" "$ROOT$3"
	else
		install -D -m "$1" "$2" "$ROOT$3"
	fi
}

[ "$CONSOLE" = chinese ] && DEBS+=("${CONSOLE_DEBS[@]}")

say "== Debian packages"
missing=()
for deb in "${DEBS[@]}"; do
	dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
done
if [ ${#missing[@]} -gt 0 ]; then
	system apt-get update -qq
	system env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

say "== user $TILL_USER, group $SUPPORT_GROUP"
getent group "$SUPPORT_GROUP" >/dev/null || system groupadd --system "$SUPPORT_GROUP"
getent passwd "$TILL_USER" >/dev/null ||
	system useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
		--shell /usr/sbin/nologin --comment "tui-pos till" "$TILL_USER"
system usermod --append --groups lp "$TILL_USER"

say "== data directory $DATA_DIR"
if [ "$DRY_RUN" = 1 ]; then
	printf '+ install -d -m 0700 %q\n' "$ROOT$DATA_DIR"
else
	install -d -m 0700 "$ROOT$DATA_DIR"
fi
system chown "$TILL_USER:$TILL_USER" "$DATA_DIR"

say "== files"
put 0644 "$SOURCE/scripts/tui-pos-tmux.conf" "$PREFIX/tmux.conf"
put 0644 "$SOURCE/README.md" "$PREFIX/README.md"
put 0644 "$SOURCE/scripts/99-tui-pos-printer.rules" /etc/udev/rules.d/99-tui-pos-printer.rules
put 0644 "$SOURCE/scripts/tui-pos.service" /etc/systemd/system/tui-pos.service
# A broken file in sudoers.d breaks sudo for everyone: check it first (visudo comes with sudo).
if command -v visudo >/dev/null; then
	visudo -cqf "$SOURCE/scripts/tui-pos-support.sudoers"
fi
put 0440 "$SOURCE/scripts/tui-pos-support.sudoers" /etc/sudoers.d/tui-pos-support
case $CONSOLE in
chinese) put 0644 "$SOURCE/scripts/tui-pos-chinese-console.conf" "$DROP_IN" ;;
kernel)
	if [ "$DRY_RUN" = 1 ]; then
		printf '+ rm -f %q\n' "$ROOT$DROP_IN"
	else
		rm -f "$ROOT$DROP_IN"
	fi
	;;
*)
	if [ -e "$ROOT$DROP_IN" ]; then
		say "(the Chinese console stays: --kernel-console removes it)"
	fi
	;;
esac
wrapper=$(mktemp)
trap 'rm -f "$wrapper"' EXIT
cat >"$wrapper" <<EOF
#!/bin/sh
# tui-pos on this till: the till's data directory unless another is given (installed by install-till.sh)
TUI_POS_DATA_DIR="\${TUI_POS_DATA_DIR:-$DATA_DIR}" exec $PREFIX/venv/bin/tui-pos "\$@"
EOF
put 0755 "$wrapper" /usr/local/bin/tui-pos

say "== tui-pos in $PREFIX/venv"
# Debian's Python, whatever python3 comes first on root's PATH: the till's user must be able to run it.
system /usr/bin/python3 -m venv "$PREFIX/venv"
system "$PREFIX/venv/bin/pip" install --quiet --upgrade "$SOURCE"
init=(runuser -u "$TILL_USER" -- /usr/local/bin/tui-pos init)
[ "$DEMO" = 1 ] && init+=(--demo)
system "${init[@]}"

say "== services"
system udevadm control --reload
system udevadm trigger --subsystem-match=usb --subsystem-match=usbmisc
system systemctl daemon-reload
# The unit with its drop-ins, as systemd will run it: a bad line refuses the install, not the next boot.
system systemd-analyze verify /etc/systemd/system/tui-pos.service
system systemctl disable getty@tty1.service
system systemctl enable tui-pos.service

say "Installed. Start the till with 'systemctl start tui-pos' (or reboot); it runs on tty1."
say "Watch it over SSH (members of $SUPPORT_GROUP): sudo -u $TILL_USER tmux -S /run/tui-pos/tmux.sock attach -r -t till"
