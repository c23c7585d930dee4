"""tests/ mirrors tui_pos/: the tests of a module are found from its path (issue 12).

The tests of `tui_pos/x/y.py` (or of the package `tui_pos/x/y/`) are `tests/x/test_y.py`, or
`tests/x/test_y_<aspect>.py` when one module's tests are many. `tests/scripts/` mirrors `scripts/`
the same way (`-` and `.` read as `_`). Cross-cutting suites live only where ALLOWED says why.
Every test directory is a package, so one basename serves two modules (tests/app/test_selling.py
and tests/cli/test_selling.py): without its `__init__.py`, two such files do not collect together.
tests/domain touches no disk: the domain is pure, so are its tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

# What may not mirror one module, and why.
ALLOWED = {
    "durability": "crash kills, file-system faults, power loss, the state machine over restarts: "
                  "the whole durable path (ledger, journal, replay, CLI) at once",
    "e2e": "the real till in tmux, the CLI and the UI together",
    "test_architecture.py": "import contracts and import weight over every package",
    "test_mirror.py": "this file: the layout of tests/ itself",
    "hq/test_lazy_import.py": "no CLI command nor the till UI loads psycopg until an hq command runs: "
                              "a property of every package's imports, not of one module",
}

# tests/domain is pure: no fixture that makes files, nothing that opens a database or a shop.
DISK_FIXTURES = {"tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory", "shop_dir", "till",
                 "two_days_shop", "nobody_shop"}
DISK_MODULES = ("sqlite3", "sqlite_utils", "shutil", "tempfile", "conftest", "tui_pos.app", "tui_pos.store",
                "tui_pos.ops", "tui_pos.bootstrap", "tui_pos.printing", "tui_pos.cli", "tui_pos.ui")


def all_test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "__snapshots__" not in p.parts)


def names_in(directory: Path) -> set[str]:
    """What a test file in the mirror of `directory` may be named after: its modules, its
    subpackages, and (for scripts/) its files, with '-' and '.' read as '_'."""
    if not directory.is_dir():
        return set()
    names = set()
    for entry in directory.iterdir():
        if entry.name.startswith(("_", ".")) or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
        elif directory.name == "scripts":
            names.add(entry.name.replace("-", "_").replace(".", "_"))
            names.add(entry.name.split(".")[0].replace("-", "_"))
    return names


def mirrored(path: Path) -> bool:
    """Whether tests/<dir>/test_<name>[_<aspect>].py names a module of tui_pos/<dir>/ (of scripts/
    for tests/scripts/)."""
    parts = path.relative_to(TESTS).parts
    directory = ROOT / "scripts" if parts[0] == "scripts" else ROOT.joinpath("tui_pos", *parts[:-1])
    name = path.stem.removeprefix("test_")
    return any(name == module or name.startswith(module + "_") for module in names_in(directory))


def allowed(path: Path) -> bool:
    relative = path.relative_to(TESTS)
    return relative.parts[0] in ALLOWED or relative.as_posix() in ALLOWED


def test_every_test_file_mirrors_a_module():
    strays = [str(p.relative_to(ROOT)) for p in all_test_files() if not allowed(p) and not mirrored(p)]
    assert not strays, (
        "these test files name no module: the test of tui_pos/x/y.py is tests/x/test_y.py (or "
        f"test_y_<aspect>.py); a cross-cutting suite goes to tests/durability or tests/e2e: {strays}")


def test_every_test_directory_is_a_package():
    """Two test files of one basename in directories that are no packages are both imported as
    `test_x`, and pytest refuses the second ("import file mismatch")."""
    directories = {d for p in all_test_files() for d in p.parents if d.is_relative_to(TESTS) and d != TESTS}
    bare = sorted(str(d.relative_to(ROOT)) for d in directories if not (d / "__init__.py").exists())
    assert not bare, f"test directories without an __init__.py: {bare}"


def test_the_allow_list_names_what_exists():
    """An allow-list entry outlives its reason unnoticed: each must still name a file or directory."""
    assert all((TESTS / name).exists() for name in ALLOWED), [n for n in ALLOWED if not (TESTS / n).exists()]


def disk_use(path: Path) -> list[str]:
    """What in a test file makes or opens files: a disk fixture asked for, a disk module imported."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [f"{node.name}({a.arg})" for a in node.args.args if a.arg in DISK_FIXTURES]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith(DISK_MODULES)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(DISK_MODULES):
            found.append(node.module or "")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
            found.append("open()")
    return found


def test_domain_tests_touch_no_disk():
    used = {str(p.relative_to(ROOT)): u for p in all_test_files() if p.relative_to(TESTS).parts[0] == "domain"
            if (u := disk_use(p))}
    assert not used, f"tests/domain must touch no disk (move such tests to tests/app or tests/store): {used}"
