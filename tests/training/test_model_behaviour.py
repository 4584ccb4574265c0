"""Behavioural tests of a trained model: fixing what the payer denies for lowers the predicted risk.

Each test takes lines of simulated claims where the audit found a problem, makes the change a biller
would make (attach a valid authorization, add JZ, add modifier 25), scores the claim again through the
scoring path (claims -> matrix) and checks that the line's risk fell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from claims.audit import FixAction, apply_fix
from claims.enums import AuthorizationStatus
from claims.model import Authorization, Claim
from claims.simulate.engine import SimulationResult
from features.model import DenialModel

pytestmark = pytest.mark.slow


def _line_risk(model: DenialModel, claim: Claim, line_number: int, auths: list[Authorization]) -> float:
    matrix, _ = model.claim_matrix([claim], authorizations=auths)
    position = [line.line_number for line in claim.lines].index(line_number)
    return float(model.score_matrix(matrix, reasons=False).probability[position])


def _cases(
    result: SimulationResult, model: DenialModel, rule_id: str, limit: int = 12
) -> list[tuple[Claim, int, object]]:
    """(claim, line, finding) for up to ``limit`` claims of the test years with a finding of ``rule_id`` and
    no other error on that line (so the change under test is the only one that matters)."""
    recent = [c for c in result.claims if c.submission_date and c.submission_date >= dt.date(2025, 1, 1)]
    _, findings = model.claim_matrix(recent, authorizations=result.authorizations)
    found = []
    for claim, claim_findings in zip(recent, findings, strict=True):
        first = next((f for f in claim_findings if f.rule_id == rule_id and f.lines), None)
        others = [f for f in claim_findings if f is not first and f.severity.value == "error"]
        if first is not None and not any(first.lines[0] in f.lines or not f.lines for f in others):
            found.append((claim, first.lines[0], first))
        if len(found) >= limit:
            break
    return found


def _check(
    trained_practice: tuple[SimulationResult, Path, DenialModel],
    rule_id: str,
    change: Callable[[Claim, int, object, list[Authorization]], tuple[Claim, list[Authorization]]],
) -> None:
    result, _, model = trained_practice
    cases = _cases(result, model, rule_id)
    assert len(cases) >= 3, f"too few {rule_id} cases in the simulated data"
    auths = list(result.authorizations)
    changes = []
    for claim, line, finding in cases:
        before = _line_risk(model, claim, line, auths)
        fixed, fixed_auths = change(claim, line, finding, auths)
        changes.append((claim.claim_id, line, before, _line_risk(model, fixed, line, fixed_auths)))
    assert [c for c in changes if not c[3] < c[2]] == []


def test_attaching_a_valid_authorization_lowers_the_risk(
    trained_practice: tuple[SimulationResult, Path, DenialModel],
) -> None:
    def attach(
        claim: Claim, line: int, _: object, auths: list[Authorization]
    ) -> tuple[Claim, list[Authorization]]:
        target = next(ln for ln in claim.lines if ln.line_number == line)
        day = target.service_date
        auth = Authorization(
            number="PA-TEST-1", payer_id=claim.payer.payer_id, member_id=claim.patient.member_id,
            approved_codes=[target.procedure_code], approved_units=Decimal(100000),
            start_date=day - dt.timedelta(days=30), end_date=day + dt.timedelta(days=150),
            status=AuthorizationStatus.APPROVED, requested_date=day - dt.timedelta(days=35),
            decided_date=day - dt.timedelta(days=31),
        )  # fmt: skip
        fixed = claim.model_copy(update={"prior_authorization": "PA-TEST-1"})
        return fixed, [*auths, auth]

    _check(trained_practice, "AUTH-MISSING", attach)


def _apply(
    claim: Claim, _: int, finding: object, auths: list[Authorization]
) -> tuple[Claim, list[Authorization]]:
    fix = finding.fix  # type: ignore[attr-defined]
    assert fix is not None and fix.action is FixAction.ADD_MODIFIER
    return apply_fix(claim, fix), auths


def test_adding_a_required_jz_lowers_the_risk(
    trained_practice: tuple[SimulationResult, Path, DenialModel],
) -> None:
    _check(trained_practice, "JWJZ-MISSING", _apply)


def test_adding_modifier_25_lowers_the_risk(
    trained_practice: tuple[SimulationResult, Path, DenialModel],
) -> None:
    _check(trained_practice, "MOD25-MISSING", _apply)
