"""Shared checks for the audit rule tests: findings of one rule, and a fix that is clean."""

from __future__ import annotations

from typing import Any

from claims.audit import Finding, Severity, apply_fix, audit_claim
from claims.model import Claim
from claims.policy import load_payers

MEDICARE_POLICY = load_payers()["medicare_mac"]


def findings_of(claim: Claim, rule_id: str, **context: Any) -> list[Finding]:
    """The findings of ``rule_id`` on ``claim`` (Medicare's policy unless the context names a payer)."""
    context.setdefault("payer", MEDICARE_POLICY)
    return [f for f in audit_claim(claim, **context) if f.rule_id == rule_id]


def fix_cleanly(claim: Claim, finding: Finding, **context: Any) -> Claim:
    """Apply the finding's fix; assert it removes the finding and adds no new error finding."""
    context.setdefault("payer", MEDICARE_POLICY)
    assert finding.fix is not None
    before = audit_claim(claim, **context)
    fixed = apply_fix(claim, finding.fix)
    after = audit_claim(fixed, **context)
    assert not [f for f in after if f.rule_id == finding.rule_id and f.lines == finding.lines]
    old = {(f.rule_id, f.message) for f in before if f.severity is Severity.ERROR}
    assert [f for f in after if f.severity is Severity.ERROR and (f.rule_id, f.message) not in old] == []
    return fixed
