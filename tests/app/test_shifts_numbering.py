"""Shifts (tui_pos/app/shifts.py) through the Till on a real shop: each shift record is stored in
one unit of work under the numbering lock, and the shift's states have their own error types."""

from __future__ import annotations

import pytest
from test_selling import counting

from conftest import FLOAT
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import CartError, NoShiftOpen, ShiftAlreadyOpen, ShiftClosedMeanwhile


def test_a_paid_out_and_the_z_each_take_the_numbering_lock_once_and_commit_once(till):
    taken, commits = counting(till)

    till.cash_movement("paid_out", 5_00, "window cleaner")
    z = till.close_shift(FLOAT - 5_00)

    assert (z.z_number, z.expected_cash, z.difference) == (1, FLOAT - 5_00, 0)
    assert len(taken) == 2 and commits == ["cash_movement", "shift_close"]
    assert till.shift is None and till.z_reports(1)[0].counted == FLOAT - 5_00


def test_opening_a_shift_takes_the_numbering_lock_once(till):
    till.close_shift(FLOAT)
    taken, commits = counting(till)

    shift = till.open_shift(50_00)

    assert shift["number"] == 2 and shift["float"] == 50_00 and till.shift == shift
    assert len(taken) == 1 and commits == ["shift_open"]


def test_shift_states_have_their_own_errors_which_are_still_cart_errors(till, shop_dir):
    with pytest.raises(ShiftAlreadyOpen):
        till.open_shift(FLOAT)
    till.close_shift(FLOAT)
    with pytest.raises(NoShiftOpen):
        till.x_report()
    with pytest.raises(NoShiftOpen):
        till.close_shift(FLOAT)
    assert issubclass(ShiftAlreadyOpen, CartError) and issubclass(NoShiftOpen, CartError)


def test_a_paid_in_into_a_shift_closed_by_another_till_process_is_refused(shop_dir):
    ui, cli = (open_till(load_config(shop_dir), cashier="demo") for _ in range(2))
    try:
        cli.close_shift(FLOAT)
        with pytest.raises(ShiftClosedMeanwhile):
            ui.cash_movement("paid_in", 5_00, "float top-up")
        assert ui.shift is None
    finally:
        ui.close()
        cli.close()
