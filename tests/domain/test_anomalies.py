"""Every warning (domain/anomalies.py): raised from hand-made data, with its numbers in its
message, and not raised from normal data."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tui_pos.domain.anomalies import (
    Thresholds,
    count_variances,
    dead_stock,
    low_stock,
    operation_risk,
    outflow_spikes,
    refunds_without_original_tender,
    shrinkage,
    sold_below_zero,
    variance_beyond,
)
from tui_pos.domain.money import Currency
from tui_pos.domain.stock import OPENING

T = Thresholds()  # the defaults: 5 units, 10%, 50.00 at cost; shrinkage 100.00; outflow x3 and 5 units over 28 days
CNY = Currency()
NAMES = {"111": "Cola"}


def count(counted: int, expected: int) -> dict:
    return {"barcode": "111", "kind": "count", "counted": counted, "expected": expected, "qty": counted - expected,
            "at": "2026-12-04T10:00:00.000+00:00"}


def test_a_count_variance_beyond_a_threshold_is_flagged_with_its_numbers():
    [by_qty] = count_variances([count(40_000, 100_000)], {}, NAMES, T, CNY)
    assert by_qty.message == "Cola: counted 40, expected 100: -60 (more than 5 units, 60% of the 100 expected)"
    [by_value] = count_variances([count(197_000, 200_000)], {"111": Fraction(2000)}, NAMES, T, CNY)
    assert "60.00 at cost" in by_value.message and "units" not in by_value.message.split("(")[1]
    assert variance_beyond("Cola", 9_000, 10_000, None, T, CNY) is None  # 10%: at the threshold, not beyond it
    assert variance_beyond("Cola", 8_900, 10_000, None, T, CNY) == \
        "Cola: counted 8.9, expected 10: -1.1 (11% of the 10 expected)"
    assert variance_beyond("Cola", 110_000, 100_000, Fraction(600), T, CNY) == \
        "Cola: counted 110, expected 100: +10 (more than 5 units, 60.00 at cost)"  # 10%: not beyond


def test_a_normal_count_is_not_flagged():
    assert count_variances([count(98_000, 100_000), count(100_000, 100_000)], {"111": Fraction(350)}, NAMES, T, CNY) == []


def test_an_opening_count_is_no_variance():
    """A product's opening stock (counted 200 where its records said nothing) found nothing: not
    flagged, while the same count without its reason is."""
    opening = {**count(200_000, 0), "reason": OPENING}
    assert count_variances([opening], {}, NAMES, T, CNY) == []
    assert len(count_variances([{**opening, "reason": None}], {}, NAMES, T, CNY)) == 1


def test_sales_while_stock_was_at_or_below_zero():
    events = {"111": [("2026-12-04T09:00", 2_000, False), ("2026-12-04T10:00", -3_000, True),
                      ("2026-12-04T11:00", -1_000, True)]}
    [flagged] = sold_below_zero(events, {"111": -2_000}, NAMES)  # 2 received, 3 sold (to -1), 1 more sold (to -2)
    assert flagged.figures["sales"] == 1 and "the first at 2026-12-04T11:00" in flagged.message
    assert "on hand at the end -2" in flagged.message


def test_sales_from_stock_are_not_flagged():
    events = {"111": [("2026-12-04T10:00", -3_000, True), ("2026-12-04T11:00", -1_000, True)]}
    assert sold_below_zero(events, {"111": 6_000}, NAMES) == []
    # an adjustment taking stock below zero is not a sale
    assert sold_below_zero({"111": [("2026-12-04T10:00", -3_000, False)]}, {"111": -1_000}, NAMES) == []


def adjustment(qty: int, reason: str) -> dict:
    return {"barcode": "111", "qty": qty, "reason": reason}


def test_shrinkage_of_one_reason_over_the_threshold():
    costs = {"111": Fraction(2000)}  # 20.00 each
    [theft] = shrinkage([adjustment(-3_000, "theft"), adjustment(-3_000, "theft"), adjustment(-1_000, "damaged")],
                        costs, T, CNY)
    assert theft.subject == "theft" and theft.message == \
        "2 write-off(s) for theft: 6 units, 120.00 at cost (over 100.00)"


def test_small_or_found_adjustments_are_not_shrinkage():
    costs = {"111": Fraction(2000)}
    assert shrinkage([adjustment(-3_000, "theft"), adjustment(10_000, "found")], costs, T, CNY) == []


def test_an_outflow_far_above_the_usual_rate():
    day = date(2026, 12, 4)
    usual = {day - timedelta(n): 2_000 for n in range(1, 29)}  # 2 a day
    [spike] = outflow_spikes({"111": {**usual, day: 20_000}}, [day], NAMES, T)
    assert spike.message == "Cola: 20 out on 2026-12-04, usually 2 a day (over the 28 days before)"
    assert outflow_spikes({"111": {**usual, day: 5_000}}, [day], NAMES, T) == []  # x2.5: usual enough
    assert outflow_spikes({"111": {day: 4_000}}, [day], NAMES, T) == []  # a new product, under outflow_min


def level(on_hand: int, since: str | None = "2026-10-01T08:00:00+00:00", **more) -> dict:
    return {"barcode": "111", "name": "Cola", "on_hand": on_hand, "tracked": True, "reorder_level": None,
            "since": since, **more}


def test_stock_that_has_not_moved():
    today = date(2026, 12, 4)
    [idle] = dead_stock([level(5_000)], {"111": "2026-10-20T10:00:00.000+00:00"}, today, T)
    assert idle.message == "Cola: 5 on hand, not moved in 45 days (since 2026-10-20)"
    [never] = dead_stock([level(5_000)], {}, today, T)
    assert never.figures["idle_days"] == 64


def test_moving_or_empty_stock_is_not_dead():
    today = date(2026, 12, 4)
    assert dead_stock([level(5_000)], {"111": "2026-11-30T10:00:00.000+00:00"}, today, T) == []
    assert dead_stock([level(0)], {}, today, T) == []
    assert dead_stock([level(5_000, since="2026-12-01")], {}, today, T) == []


def test_low_stock():
    [low] = low_stock([level(3_000, reorder_level=5_000)])
    assert low.message == "Cola: 3 on hand, reorder level 5"
    assert low_stock([level(6_000, reorder_level=5_000), level(0)]) == []


def test_a_warning_keeps_its_template_apart_for_the_screen_s_language():
    """The message stays English (--json, --csv); the human report says it in [ui] language."""
    from tui_pos import i18n

    [low] = low_stock([level(3_000, reorder_level=5_000)])
    [idle] = dead_stock([level(5_000, since="2026-10-01")], {}, date(2026, 12, 4), T)
    i18n.use_language("zh_CN")
    assert i18n.message(low) == "Cola：现有 3，补货点 5"
    assert i18n.message(idle) == "Cola：现有 5，已 64 天没有出入库（自 2026-10-01 起）"


def test_stock_warnings_are_whole_sentences_in_the_screen_s_language():
    """Each warning that names several figures is one translatable sentence (no English pieces
    inside a Chinese one): a count's variance with every reason, a cashier's rate, a refund's tenders."""
    from tui_pos import i18n

    [variance] = count_variances([count(40_000, 100_000)], {"111": Fraction(2000)}, NAMES, T, CNY)
    [eve] = operation_risk({"amy": {"sales": 100, "line_void": 1}, "eve": {"sales": 50, "line_void": 8}}, T)
    [refund] = refunds_without_original_tender([sale("T1-000002", "cash", "mobile", uuid="r1", original="s1")],
                                               {"s1": sale("T1-000001", "card")})
    assert refund.message == "refund T1-000002 by bob paid in cash, mobile; the sale T1-000001 was paid in card"
    i18n.use_language("zh_CN")
    assert i18n.message(variance) == "Cola：盘点 40，应有 100：差异 -60（超过 5 件，为应有 100 的 60%，成本 1200.00）"
    assert i18n.message(eve) == "eve：50 笔销售中删除商品行 8 次（每 100 笔 16 次），本店为每 100 笔 6 次"
    assert i18n.message(refund) == "bob 的退款 T1-000002 以现金, 移动支付退还；原销售 T1-000001 以银行卡支付"


def test_a_cashier_far_above_the_shop_s_rate():
    per_cashier = {"amy": {"sales": 100, "void": 1, "refund": 1}, "bob": {"sales": 100, "void": 1},
                   "eve": {"sales": 50, "void": 8, "no_sale": 1}}
    [eve] = operation_risk(per_cashier, T)
    assert eve.subject == "eve" and eve.message == "eve: 8 void(s) in 50 sales (16 per 100), the shop's 4 per 100"


def test_cashiers_at_the_shop_s_norm_are_not_flagged():
    per_cashier = {"amy": {"sales": 100, "void": 3, "refund": 2}, "bob": {"sales": 80, "void": 3, "refund": 1}}
    assert operation_risk(per_cashier, T) == []


def sale(receipt: str, *tenders: str, uuid: str = "s1", original: str | None = None) -> dict:
    return {"uuid": uuid, "receipt": receipt, "cashier": "bob", "original_uuid": original,
            "tenders": [{"kind": kind, "amount": 100, "reference": ""} for kind in tenders]}


def test_a_refund_in_cash_for_a_card_sale():
    original = sale("T1-000001", "card")
    [flagged] = refunds_without_original_tender([sale("T1-000002", "cash", uuid="r1", original="s1")],
                                                {"s1": original})
    assert flagged.message == "refund T1-000002 by bob paid in cash; the sale T1-000001 was paid in card"


def test_a_refund_to_the_original_tender_is_not_flagged():
    original = sale("T1-000001", "card", "cash")
    assert refunds_without_original_tender([sale("T1-000002", "card", uuid="r1", original="s1")],
                                           {"s1": original}) == []


@given(st.lists(st.tuples(st.integers(-5_000, 5_000), st.booleans()), max_size=30), st.integers(-10_000, 10_000))
def test_sales_below_zero_are_exactly_those_a_walk_forward_finds(moves, opening):
    """The walk back from the end (with its shortcut) flags exactly the sales a walk forward from
    the opening level sees taking stock at or below zero."""
    timed = [(f"2026-12-04T10:{i:02d}", qty, sale) for i, (qty, sale) in enumerate(moves)]
    level, expected = opening, 0
    for _, qty, sale in timed:
        expected += sale and qty < 0 and level <= 0
        level += qty
    found = sold_below_zero({"111": timed}, {"111": level}, NAMES)
    assert (found[0].figures["sales"] if found else 0) == expected


@given(st.dictionaries(st.integers(0, 45), st.integers(0, 30_000), max_size=46), st.integers(30, 40),
       st.integers(1, 6))
def test_the_sliding_window_is_the_usual_rate_of_the_days_before_each_day(outs, first, length):
    day0 = date(2026, 11, 1)
    daily = {"111": {day0 + timedelta(n): out for n, out in outs.items()}}
    period = [day0 + timedelta(first + n) for n in range(length)]
    expected = [day.isoformat() for day in period
                if (out := daily["111"].get(day, 0)) >= T.outflow_min
                and out > T.outflow_factor * sum(daily["111"].get(day - timedelta(n), 0) for n in range(1, 29)) / 28]
    assert [w.figures["day"] for w in outflow_spikes(daily, period, NAMES, T)] == expected
