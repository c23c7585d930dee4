"""Shifts and cash: the X report (the shift so far) and the Z report (the shift closed).

Pure: a report is computed from a shift's opening record and its summed figures (the store's
shift totals, from the database and the journal together). Expected cash in the drawer is
float + cash taken by sales - change given - cash paid back by refunds and voids + paid-in -
paid-out. All amounts are integer minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from tui_pos.domain.errors import N_, BadInput
from tui_pos.domain.money import MAX_MINOR
from tui_pos.domain.sale import receipt_number
from tui_pos.domain.tender import TENDER_KINDS

SALE_KINDS = ("sale", "refund", "void")
SALE_KIND_WORDS = {"sale": N_("sale"), "refund": N_("refund"), "void": N_("void")}  # said in the shop's language


@dataclass(frozen=True)
class KindTotals:
    count: int = 0
    total: int = 0
    discount: int = 0
    tax: int = 0


@dataclass(frozen=True)
class TenderTotals:
    kind: str
    sales: int  # taken by sales (cash: net of change)
    refunds: int  # paid back by refunds and voids (negative)

    @property
    def net(self) -> int:
        return self.sales + self.refunds


@dataclass(frozen=True)
class TaxTotals:
    code: str
    rate_bp: int
    net: int
    tax: int


@dataclass(frozen=True)
class ShiftReport:
    """An X report (z_number None, nothing counted) or a Z report. Stored with the Z record as a
    dict (to_dict) and shown or printed again from it (from_dict)."""

    till_id: str
    shift_number: int
    shift_uuid: str
    opened_at: str
    opened_by: str
    float: int
    taken_at: str
    taken_by: str
    sales: KindTotals
    refunds: KindTotals
    voids: KindTotals
    voided_lines: int
    voided_lines_amount: int
    tenders: tuple[TenderTotals, ...]
    taxes: tuple[TaxTotals, ...]
    paid_in: int
    paid_out: int
    rounding: int
    expected_cash: int
    first_receipt: str | None
    last_receipt: str | None
    journaled: int  # records of this shift only in the fallback journal when the report was taken
    database_readable: bool  # False: the figures are the journal's alone (say so on the report)
    z_number: int | None = None
    counted: int | None = None
    counted_detail: tuple[tuple[str, int], ...] = ()  # (denomination, how many) when counted by note
    audit_head: str | None = None  # the audit chain's newest hash when the Z was taken

    @property
    def net_sales(self) -> int:
        return self.sales.total + self.refunds.total + self.voids.total

    @property
    def difference(self) -> int | None:
        """Over (positive) or short (negative); None until cash is counted."""
        return None if self.counted is None else self.counted - self.expected_cash

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShiftReport:
        nested = {"sales": KindTotals, "refunds": KindTotals, "voids": KindTotals}
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for name, kind in nested.items():
            values[name] = kind(**data[name])
        values["tenders"] = tuple(TenderTotals(**t) for t in data["tenders"])
        values["taxes"] = tuple(TaxTotals(**t) for t in data["taxes"])
        values["counted_detail"] = tuple(tuple(d) for d in data.get("counted_detail", ()))
        return cls(**values)


def shift_report(shift: Mapping[str, Any], facts: Mapping[str, Any], *, taken_at: str, taken_by: str,
                 journaled: int, database_readable: bool) -> ShiftReport:
    """The X report of a shift from its opening record and its summed figures."""
    kinds = {k: KindTotals(**{f: v for f, v in facts["kinds"].get(k, {}).items() if f in ("count", "total",
                                                                                        "discount", "tax")})
             for k in SALE_KINDS}
    change = sum(k.get("change") or 0 for k in facts["kinds"].values())
    tenders = []
    for kind in TENDER_KINDS:
        taken = (facts["tenders"].get("sale", {}).get(kind) or {}).get("amount") or 0
        back = sum((facts["tenders"].get(k, {}).get(kind) or {}).get("amount") or 0 for k in ("refund", "void"))
        if kind == "cash":
            taken -= change
        if taken or back:
            tenders.append(TenderTotals(kind, taken, back))
    taxes = tuple(TaxTotals(key.split(":")[0], int(key.split(":")[1]), v["net"], v["tax"])
                  for key, v in sorted(facts["tax"].items()))
    moves = facts["cash_movements"]
    paid_in = (moves.get("paid_in") or {}).get("amount") or 0
    paid_out = (moves.get("paid_out") or {}).get("amount") or 0
    cash_net = next((t.net for t in tenders if t.kind == "cash"), 0)
    till_id = shift["till_id"]
    return ShiftReport(
        till_id=till_id, shift_number=shift["number"], shift_uuid=shift["uuid"], opened_at=shift["opened_at"],
        opened_by=shift["opened_by"], float=shift["float"], taken_at=taken_at, taken_by=taken_by,
        sales=kinds["sale"], refunds=kinds["refund"], voids=kinds["void"],
        voided_lines=facts["voided_lines"]["count"], voided_lines_amount=facts["voided_lines"]["amount"],
        tenders=tuple(tenders), taxes=taxes, paid_in=paid_in, paid_out=paid_out,
        rounding=sum(k.get("rounding") or 0 for k in facts["kinds"].values()),
        expected_cash=shift["float"] + cash_net + paid_in - paid_out,
        first_receipt=receipt_number(till_id, facts["first_seq"]) if facts["first_seq"] else None,
        last_receipt=receipt_number(till_id, facts["last_seq"]) if facts["last_seq"] else None,
        journaled=journaled, database_readable=database_readable,
    )


def count_cash(counts: Mapping[int, int]) -> int:
    """The drawer's total from how many of each denomination (in minor units) were counted."""
    for value, how_many in counts.items():
        if value <= 0 or how_many < 0:
            raise BadInput(N_("count each note or coin as zero or more"))
    total = sum(value * how_many for value, how_many in counts.items())
    if total >= MAX_MINOR:
        raise BadInput(N_("the count adds up to too large an amount: count again"))
    return total
