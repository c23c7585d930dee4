# tui-pos: `make run` sets everything up and starts the till on the demo shop; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= $(CURDIR)/demo-shop
# Debian packages the real-fault tests need (installed only as root on a Debian-like system):
# libfiu (I/O error injection), FUSE 3 (power-loss file system), strace (sync counting), tmux (e2e),
# libusb + umockdev + its GObject bindings (an emulated USB receipt printer),
# systemd (systemd-analyze verify on the till's unit), fbterm (the Chinese console's drop-in: verify and its terminfo), shellcheck and sudo's visudo (the installer's files),
# zbar-tools (zbarimg: a real QR decoder reads the receipt's QR code off the till's screen),
# postgresql (HQ: the tests start a throwaway cluster of their own, as nobody), pgbouncer (HQ behind it),
# faketime (a till whose clock is hours off).
TEST_DEBS := fiu-utils libfuse3-3 fuse3 strace tmux libusb-1.0-0 umockdev gir1.2-umockdev-1.0 python3-gi \
	systemd fbterm shellcheck sudo zbar-tools postgresql pgbouncer faketime

.PHONY: run test lint bench chain pay-demo venv debian-test-deps clean messages

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

debian-test-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages for the fault tests: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else echo "Not root on Debian: tests that need $(TEST_DEBS) will skip with a reason."; fi

run: venv
	@test -f "$(DEMO_DIR)/config.toml" || $(VENV)/bin/tui-pos --data-dir "$(DEMO_DIR)" init --demo
	$(VENV)/bin/tui-pos --data-dir "$(DEMO_DIR)"

# A chain on this machine: a throwaway PostgreSQL as HQ and two tills syncing to it (README, "A chain
# on one machine"); Ctrl-C stops it. CHAIN_ARGS: e.g. --sell-every 0 (the tills are left to you).
CHAIN_DIR ?= $(CURDIR)/chain-demo
chain: venv debian-test-deps
	$(PY) scripts/chain.py --dir "$(CHAIN_DIR)" $(CHAIN_ARGS)

# Code payments on this machine: the demo shop with Alipay and WeChat Pay pointed at local simulators
# of their gateways (README, "Trying code payments"). PAY_DEMO_ARGS: e.g. --paying-for 8, --fault fail.
PAY_DEMO_DIR ?= $(CURDIR)/demo-pay-shop
pay-demo: venv
	$(PY) scripts/pay_demo.py --dir "$(PAY_DEMO_DIR)" $(PAY_DEMO_ARGS)

# The linter and the type checker (configured in pyproject.toml); `make test` runs them first and
# fails if either finds anything.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tui_pos

# The translations (see tui_pos/i18n.py): every message marked in the code, extracted with Babel and
# merged into each language's catalog, tui_pos/locale/LANG/LC_MESSAGES/tui_pos.po; then translate the
# entries left empty (tests/test_i18n.py names them). Nothing to compile: the till reads the .po file
# itself when it first uses its language, so a clean checkout, a pip install and a wheel all work.
messages: venv
	@mkdir -p build
	$(VENV)/bin/pybabel extract --no-location --sort-output --project tui-pos --copyright-holder "tui-pos" \
	  --msgid-bugs-address "" -o build/tui_pos.pot tui_pos
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete --no-wrap -D tui_pos \
	  -i build/tui_pos.pot -d tui_pos/locale

test: venv debian-test-deps lint
	$(PY) -m pytest -n auto

bench: venv debian-test-deps
	$(PY) scripts/bench_core.py
	$(PY) scripts/bench_receipt.py
	$(PY) scripts/bench_ui.py
	$(PY) scripts/bench_reports.py
	$(PY) scripts/bench_hq.py
	$(PY) scripts/bench_lookup.py
	$(PY) scripts/bench_stock.py
	$(PY) scripts/bench_hq_stock.py
	$(PY) scripts/bench_payments.py

clean:
	rm -rf $(VENV) demo-shop chain-demo demo-pay-shop .pytest_cache .hypothesis .mypy_cache .ruff_cache build *.egg-info
