"""Facts about one claim that several rules read, computed once per audit instead of once per rule.

The rules are written against these (the claim's lines by service date, its drug lines, the lines of each
drug and date, its JW lines); :func:`claim_facts` builds them on the first rule's call and keeps them
in ``AuditContext.extra`` for the other rules of the same audit. A fresh context (one per
:func:`~claims.audit.audit_claim` call) starts without them, so a changed or fixed claim is never audited
with another claim's facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from claims.audit.engine import AuditContext
from claims.model import Claim, ClaimLine
from claims.reference import Drug, load_drugs

__all__ = ["ClaimFacts", "claim_facts", "memo"]

_T = TypeVar("_T")


def memo(context: AuditContext, key: str, claim: Claim, build: Callable[[Claim, AuditContext], _T]) -> _T:
    """``build(claim, context)``, computed once per claim and audit (several rules share it), kept in
    ``context.extra``."""
    hit = context.extra.get(key)
    if isinstance(hit, tuple) and hit[0] is claim:
        value: _T = hit[1]
        return value
    value = build(claim, context)
    context.extra[key] = (claim, value)
    return value


class ClaimFacts:
    """The claim's lines arranged the ways the rules look at them (every list in line order)."""

    __slots__ = ("by_date", "drug_lines", "same_drug", "waste_lines")

    def __init__(self, claim: Claim) -> None:
        drugs = load_drugs()
        #: One encounter per service date: its lines.
        self.by_date: dict[dt.date, list[ClaimLine]] = {}
        #: The lines of each code and date (a drug's administered and JW lines).
        self.same_drug: dict[tuple[str, dt.date], list[ClaimLine]] = {}
        #: The lines whose code is in the drug table, with the drug.
        self.drug_lines: list[tuple[ClaimLine, Drug]] = []
        #: The lines billing discarded drug (modifier JW).
        self.waste_lines: list[ClaimLine] = []
        by_date, same_drug = self.by_date, self.same_drug
        for line in claim.lines:
            code, date = line.procedure_code, line.service_date
            by_date.setdefault(date, []).append(line)
            same_drug.setdefault((code, date), []).append(line)
            drug = drugs.get(code)
            if drug is not None:
                self.drug_lines.append((line, drug))
            if "JW" in line.modifiers:
                self.waste_lines.append(line)

    def same_drug_as(self, line: ClaimLine) -> list[ClaimLine]:
        """Lines of the same code on the same date (the line itself included)."""
        return self.same_drug[(line.procedure_code, line.service_date)]


def claim_facts(claim: Claim, context: AuditContext) -> ClaimFacts:
    """The facts of ``claim``, built once per audit."""
    return memo(context, __name__, claim, _build)


def _build(claim: Claim, _context: AuditContext) -> ClaimFacts:
    return ClaimFacts(claim)
