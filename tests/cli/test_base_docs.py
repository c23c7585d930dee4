"""Every command of the click tree rooted at `main` (cli/base.py) is documented: it has help text,
and it is in the README's command reference (sqlite-utils' tests/test_docs.py habit). The tree
is walked, so a new command or subcommand fails here until it is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from tui_pos.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    """('shift paid-in', its command), ... for every command and subcommand, groups included."""
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((" ".join((*path, name)), command))
        if isinstance(command, click.Group):
            found += commands(command, (*path, name))
    return found


def reference() -> str:
    """The README's "Command reference" section."""
    text = README.read_text(encoding="utf-8")
    start = text.index("### Command reference\n")
    end = re.compile(r"^##", re.M).search(text, start + 1)
    return text[start:end.start() if end else len(text)]


def listed() -> list[str]:
    """Each item of the reference, as the words after `tui-pos` up to the first argument or option."""
    items = re.findall(r"^- `tui-pos ([^`]*)`", reference(), re.M)
    return [" ".join(re.match(r"[a-z][a-z-]*(?: [a-z][a-z-]*)*", item)[0].split()) for item in items]


ALL = commands()


def test_the_walk_finds_the_whole_tree():
    names = [name for name, _ in ALL]
    assert {"sell", "shift", "shift paid-in", "report sales", "backup verify", "user set-pin"} <= set(names)


@pytest.mark.parametrize("name", [name for name, _ in ALL])
def test_every_command_is_in_the_readme_reference(name):
    pattern = re.compile(r"^- `tui-pos " + re.escape(name) + r"(?![\w-])", re.M)
    assert pattern.search(reference()), f"'tui-pos {name}' is not in the README's Command reference"


@pytest.mark.parametrize("name, command", ALL, ids=[name for name, _ in ALL])
def test_every_command_has_help(name, command):
    assert command.help and command.help.strip(), f"'tui-pos {name}' has no help text"


def test_the_reference_lists_no_command_that_does_not_exist():
    """A renamed or removed command leaves no stale line behind."""
    names = {name for name, _ in ALL}
    stale = [item for item in listed() if item not in names]
    assert not stale, f"the README's Command reference lists commands that do not exist: {stale}"


@pytest.mark.parametrize("name, command", ALL, ids=[name for name, _ in ALL])
def test_every_option_has_help(name, command):
    """`tui-pos sell --help` says what --item and --tender take, not only their shape."""
    bare = [opt.opts[0] for opt in command.params if isinstance(opt, click.Option) and not (opt.help or "").strip()]
    assert not bare, f"'tui-pos {name}': options without help text: {bare}"
