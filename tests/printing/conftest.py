"""Fixtures for the printing tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import open_demo_shop


@pytest.fixture(scope="session")
def demo_shop_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "shop"
    open_demo_shop(path)
    return path


@pytest.fixture
def shop_dir(demo_shop_template: Path, tmp_path: Path) -> Path:
    """A fresh demo shop, as tests/conftest.py's shop_dir, but copied from one made once per
    session: `init --demo` costs 0.3-0.7 s and these tests make dozens of shops."""
    target = tmp_path / "shop"
    shutil.copytree(demo_shop_template, target)
    return target
