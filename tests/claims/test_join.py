"""Joining 835 outcomes to 837 claims and lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from claims.join import join_outcomes
from claims.model import Adjustment, ClaimPayment, Remittance
from claims.samples import SCENARIOS, make_claim, sample_remittances
from claims.x12 import read_x12


def _claims() -> list:  # type: ignore[type-arg]
    return [make() for make in SCENARIOS.values()]


def test_every_line_matches_by_control_number() -> None:
    claims = _claims()
    report = join_outcomes(claims, sample_remittances())
    assert len(report.matches) == sum(len(c.lines) for c in claims)
    assert {m.method for m in report.matches.values()} == {"control_number"}
    assert report.summary()["unmatched_remittance_lines"] == 0


def test_fallback_matching_without_control_numbers(variations_dir: Path) -> None:
    claims = _claims()
    remits = read_x12(variations_dir / "remit_without_control_numbers.835").remittances
    report = join_outcomes(claims, remits)
    assert len(report.matches) == sum(len(c.lines) for c in claims)
    assert {m.method for m in report.matches.values()} == {"fallback"}
    # the denied pemetrexed line (J9305, line 7 of the NSCLC claim) is still the one that gets CO-16
    nsclc = next(i for i, c in enumerate(claims) if c.claim_id == "NSCLC0001")
    assert [a.reason_code for a in report.matches[(nsclc, 7)].outcome.adjustments] == ["16"]


def test_claim_level_denial_applies_to_every_line(variations_dir: Path) -> None:
    claims = _claims()
    remits = read_x12(variations_dir / "remit_claim_level_denial.835").remittances
    report = join_outcomes(claims, remits)
    folfox = next(i for i, c in enumerate(claims) if c.claim_id == "FOLFOX0001")
    methods = {m.method for (i, _), m in report.matches.items() if i == folfox}
    assert methods == {"claim_level"}
    assert all(
        report.matches[(folfox, line.line_number)].outcome.adjustments[0].reason_code == "29"
        for line in claims[folfox].lines
    )


def test_unmatched_remittances_and_claims_are_reported() -> None:
    stray = ClaimPayment(claim_id="NOPE", status_code="1", charge=Decimal("10"), paid=Decimal("10"))
    remit = Remittance(payer_name="X", total_paid=Decimal("10"), claims=[stray])
    report = join_outcomes([make_claim()], [remit])
    assert report.unmatched_remittance_claims == ["NOPE"]
    assert report.claims_without_remittance == 1
    assert report.matches == {}


def test_first_adjudication_wins_and_later_ones_are_counted() -> None:
    claims = [make_claim()]
    first, _ = sample_remittances()
    later = first.model_copy(update={"production_date": dt.date(2026, 4, 30)})
    later.claims = [
        c.model_copy(update={"adjustments": [Adjustment(group="CO", reason_code="29", amount=Decimal("1"))]})
        for c in later.claims
    ]
    report = join_outcomes(claims, [later, first])
    assert report.later_remittances == 1
    assert report.matches[(0, 7)].received_date == first.received_date


def test_reversals_are_not_outcomes() -> None:
    claims = [make_claim()]
    first, _ = sample_remittances()
    reversal = first.model_copy(
        update={"claims": [c.model_copy(update={"status_code": "22"}) for c in first.claims]}
    )
    report = join_outcomes(claims, [reversal])
    assert report.reversals == 2 and report.matches == {}
