"""Fuzzing the command line's argument grammar and the config loader: hostile input of any kind (other
digits, huge numbers, control characters, empty strings, endless devices, impossible dates) is a
message, never a traceback.

The commands and their options come from the click tree itself, so a new command is fuzzed too. Most
examples run in-process (click's CliRunner: milliseconds each); a few run the real entry point."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AS_DEMO, COLA, WEIGHED, open_demo_shop, run_cli
from tui_pos.cli import main
from tui_pos.config import SCHEMA, ConfigError, load_config
from tui_pos.domain.money import Currency, percent_to_bp
from tui_pos.ops.logs import setup_logging

SKIPPED = {("monitor",)}  # a live view: fuzzed with --once below
FORCED = {("monitor",): ["--once"]}

OTHER_DIGITS = ["３", "٣", "²", "①", "३", "9" * 30, "9" * 5000, "-1", "0", "1e309", "nan", "inf", "1_000", "0x10",
                " 1 ", "00"]
CONTROL = ["\x1b[2J", "a\nb", "\t", "\x7f", "\u2028", "\r", "\x07"]
DATES = ["0001-01-01", "9999-12-31", "9998-12-31", "2026-02-30", "2026-13", "9999-12", "0000-01", "２０２６-01-01",
         "garbage", "2026-01-01T25:00", "0001-01-01T00:00+01:00"]
WORDS = ["", " ", "-", "--", "--json", "manager", "demo", "cli", "9999", "1234", "T1-000001", "T1-999999999999",
         "x" * 10_000]


def leaf_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    found = []

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, path + (name,))
                if not command.invoke_without_command:
                    continue
            found.append((path + (name,), command))

    walk(main, ())
    return found


def relative(text: str) -> bool:
    """Random text used as a path stays inside the test's directory (the test runs as root)."""
    return not text.startswith(("/", "~")) and ".." not in text


STRONGEST = ["9" * 30, "３", "²", "-1", "", "\x1b[2J\n", "/dev/zero", "0001-01-01", "9999-12-31", "nan"]
# What a well-meant command line has in each option (by the parameter's name): the hostile value then
# reaches the code behind one parameter instead of stopping at a missing --tender.
PLAUSIBLE = {"item": COLA, "tender": "cash", "float": "100", "amount": "10", "reason": "Damaged", "manager": "manager",
             "pin": "9999", "number": "1", "receipt": "T1-000001", "day": "2026-01-01", "first": "2026-01-01",
             "last": "2026-01-31", "month": "2026-01", "counted": "100", "counts": "100=1", "name": "newbie",
             "role": "cashier", "new_pin": "4321", "since": "2026-01-01", "search": "cola", "csv_file": "some.csv",
             "file": "some.csv", "count": "5", "interval": "1"}


def hostile_values(tmp: Path) -> st.SearchStrategy[str]:
    paths = ["/dev/zero", "/dev/urandom", "/dev/null", "/nonexistent/x.tgz", str(tmp), str(tmp / "some.csv"),
             str(tmp / "missing" / "x"), str(tmp / "fifo")]
    codes = [COLA, f"{WEIGHED}@0", f"{WEIGHED}@9999999999999.99", f"{COLA}x9999", f"{COLA}x2@1"] + \
        [f"{COLA}x{d}" for d in OTHER_DIGITS[:6]]
    tenders = ["cash", "cash:", "cash:1e3", "card:3.50:" + "7" * 1000, "mobile:3.50:\x1b", "card::", ":", "cash:３",
               "cash:9999999999999.99", "cash:99999999999999999999", "mobile:1:" + "\n" * 3]
    counts = ["100=３", "100=" + "9" * 30, "0.5=1", "=", "100=-1", "100"]
    curated = OTHER_DIGITS + CONTROL + DATES + WORDS + paths + codes + tenders + counts
    text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12).filter(relative)
    return st.one_of(st.sampled_from(STRONGEST), st.sampled_from(STRONGEST), st.sampled_from(curated), text,
                     st.builds(lambda a, b: a + b, st.sampled_from(curated), text))


@st.composite
def invocation(draw: st.DrawFn, commands: list, values: st.SearchStrategy[str]) -> list[str]:
    """A command with one parameter given a hostile value, its required ones something plausible, and
    some of the others either."""
    path, command = draw(st.sampled_from(commands))
    args = list(path) + FORCED.get(path, [])
    params = [p for p in command.params if p.name != "help"]
    valued = [p for p in params if not getattr(p, "is_flag", False)]
    target = draw(st.sampled_from(valued)) if valued else None
    for param in params:
        if param is not target and not param.required and draw(st.integers(0, 3)) != 0:
            continue
        if getattr(param, "is_flag", False):
            args.append(param.opts[0])
            continue
        plausible = PLAUSIBLE.get(param.name)
        value = plausible if param is not target and plausible is not None and draw(st.integers(0, 3)) else draw(values)
        args += [value] if isinstance(param, click.Argument) else [param.opts[0], value]
    if draw(st.integers(0, 9)) == 0:
        args.append(draw(st.sampled_from(["--bogus", "extra", "-x", "--json=1"])))
    return args


EXAMPLES = int(os.environ.get("TUI_POS_FUZZ_EXAMPLES", "200"))  # e.g. 5000 for a deep run by hand


@pytest.fixture
def fuzz_shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    shop = open_demo_shop(tmp_path / "shop")
    (tmp_path / "some.csv").write_text("barcode,name,price,tax\n1,x,1.00,A\n", encoding="utf-8")
    os.mkfifo(tmp_path / "fifo")
    monkeypatch.chdir(tmp_path)  # support bundles, CSV files and relative paths land here
    logger = logging.getLogger("tui_pos")
    level = logger.level
    yield shop
    setup_logging(tmp_path / "gone", interactive=False)  # in-process commands installed the shop's log file
    logger.setLevel(level)


def shown(args: list[str]) -> str:
    return repr([a if len(a) <= 40 else f"{a[:20]}...({len(a)} characters)" for a in args])


def invoke(shop: Path, args: list[str]):
    """One command in this process; an exception that is not a clean exit is a traceback the user would see."""
    umask = os.umask(0o077)
    try:
        result = CliRunner().invoke(main, ["--data-dir", str(shop), *args], catch_exceptions=True)
    finally:
        os.umask(umask)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"tui-pos {shown(args)} raised {result.exception!r:.300}") from result.exception
    assert result.exit_code in (0, 1), (shown(args), result.exit_code, result.output[:500])
    assert "Traceback" not in result.stderr, (shown(args), result.stderr[:2000])
    if result.exit_code == 1 and result.stderr.startswith("Error: ") and "catalog not imported" not in result.stderr[:40]:
        assert result.stderr.strip().count("\n") == 0, (shown(args), result.stderr[:500])  # one line, not a usage screen
        assert "\x1b" not in result.stderr, (shown(args), result.stderr[:500])  # an escape sequence acts on the terminal
    return result


def test_the_command_line_never_shows_a_traceback(fuzz_shop: Path, tmp_path: Path):
    commands = [(path, command) for path, command in leaf_commands() if path not in SKIPPED or path in FORCED]
    assert len(commands) > 30  # the whole tree, not a few commands

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(invocation(commands, hostile_values(tmp_path)))
    def fuzz(args: list[str]) -> None:
        invoke(fuzz_shop, args)

    fuzz()


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([
    ["sell", *AS_DEMO, "--item", f"{COLA}x²", "--tender", "cash"],
    ["catalog", "import", "/dev/zero"],
    ["report", "z", "9" * 30],
    ["sales", "--since", "\x1b[2J"],
    ["report", "sales", "--day", "0001-01-01"],
    ["sell", *AS_DEMO, "--item", COLA, "--tender", f"card:3.50:{'7' * 100_000}"],
]))
def test_the_real_entry_point_says_one_line(fuzz_shop: Path, args: list[str]):
    proc = run_cli(fuzz_shop, *args, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("Error: "), proc.stderr


# -- the config loader -------------------------------------------------------------------------------

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (JSON's escapes are TOML's)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


scalars = st.one_of(
    st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(OTHER_DIGITS + CONTROL + ["13", "0.05", "-5", "100.001", "abc", "", "journal", "none", "usb"]),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(["A", "B", "x", "pay"]), inner,
                                                                       max_size=2)), max_leaves=5)
sections = st.sampled_from([*SCHEMA, "unknown"])


@st.composite
def config_text(draw: st.DrawFn) -> str:
    lines = []
    for section in draw(st.lists(sections, max_size=4, unique=True)):
        keys = SCHEMA.get(section, {})
        names = list(keys) if isinstance(keys, dict) else ["pay", "quit"]
        lines.append(f"[{section}]")
        for name in draw(st.lists(st.sampled_from(names + ["bogus"]), max_size=4, unique=True)):
            lines.append(f"{json.dumps(name)} = {toml_value(draw(values))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES + 100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(config_text(), st.text(max_size=60)))
def test_the_config_loader_says_what_is_wrong_or_gives_a_config_every_command_can_use(tmp_path: Path, text: str):
    (tmp_path / "config.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config = load_config(tmp_path)
    except ConfigError as err:
        assert str(err).startswith(f"{tmp_path / 'config.toml'}") and "\n" not in str(err)
        return
    currency = Currency(config.currency_code, config.currency_symbol, config.currency_exponent)  # what sell uses
    for amount in (config.cash_rounding, config.paid_out_limit, config.z_difference_limit, *config.denominations):
        currency.parse(amount)
    for percent in (config.discount_limit, *config.tax_rates.values()):
        percent_to_bp(percent)
    assert config.storage.journal_dirs and all(isinstance(d, Path) for d in config.storage.journal_dirs)
    assert all(isinstance(r, str) for r in config.reasons)


@pytest.mark.parametrize("command", [["doctor", "--json"], ["status", "--json"]])
def test_doctor_and_status_run_on_a_fuzzed_config(fuzz_shop: Path, command: list[str]):
    @settings(max_examples=max(8, EXAMPLES // 25), deadline=None)
    @given(config_text())
    def fuzz(text: str) -> None:
        (fuzz_shop / "config.toml").write_text(text, encoding="utf-8")
        invoke(fuzz_shop, command)

    original = (fuzz_shop / "config.toml").read_text(encoding="utf-8")
    try:
        fuzz()
    finally:
        (fuzz_shop / "config.toml").write_text(original, encoding="utf-8")
