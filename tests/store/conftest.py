"""The store tests' shared fixture: a shop with stock (tests/store/stock_shop.py)."""

from __future__ import annotations

import pytest

from .stock_shop import stock_shop


@pytest.fixture
def products(tmp_path):
    """Two tracked products (opening stock 10 and 5) and an untracked one, stored as an import stores them."""
    stock_shop(tmp_path)
