"""Join 835 outcomes back to the 837 claims and lines they answer.

Claims: CLP01 (patient control number) = CLM01. Lines: the line item control number (REF*6R) when both
sides carry it; otherwise the procedure code (SVC06 when the payer changed it, else SVC01) with the same
modifiers and service date, taking the claim's lines in order (position). A claim paid or denied as a
whole, with no service lines in the 835, gives every line the claim-level adjustments; when service lines
are present, claim-level adjustments stay on the claim (they are not copied onto every line).

The **first** 835 that adjudicates a claim (by received date) sets its lines' outcomes: that is the
initial decision a pre-submission model predicts. When one claim id was submitted several times (a
duplicate submission), the k-th adjudication answers the k-th submission. Later 835s for the same
claim (reversals, corrections, appeals) are counted, not applied. Nothing is dropped silently:
unmatched remittance claims and lines and claim lines without an outcome are all listed in the
:class:`JoinReport`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from claims.model import Claim, ClaimLine, ClaimPayment, LineOutcome, Remittance

__all__ = ["JoinReport", "LineMatch", "adjudications", "claim_level_outcome", "join_outcomes", "match_lines"]

#: CLP02 claim status codes that are not an adjudication of the claim (22 reversal, 25 predetermination).
_NOT_ADJUDICATION = {"22", "25"}


@dataclass(frozen=True, slots=True)
class LineMatch:
    """The outcome of one claim line and how it was found."""

    outcome: LineOutcome
    payment: ClaimPayment
    received_date: dt.date | None
    method: str  # control_number | fallback | claim_level


@dataclass
class JoinReport:
    """The result of a join: outcomes per (claim index, line number), and everything left unmatched."""

    matches: dict[tuple[int, int], LineMatch] = field(default_factory=dict)
    unmatched_remittance_claims: list[str] = field(default_factory=list)
    unmatched_remittance_lines: list[tuple[str, str]] = field(default_factory=list)
    lines_without_outcome_in_adjudicated_claims: list[tuple[str, int]] = field(default_factory=list)
    claims_without_remittance: int = 0
    later_remittances: int = 0
    reversals: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "matched_lines": len(self.matches),
            "matched_by_control_number": sum(m.method == "control_number" for m in self.matches.values()),
            "matched_by_fallback": sum(m.method == "fallback" for m in self.matches.values()),
            "matched_by_claim_level": sum(m.method == "claim_level" for m in self.matches.values()),
            "unmatched_remittance_claims": len(self.unmatched_remittance_claims),
            "unmatched_remittance_lines": len(self.unmatched_remittance_lines),
            "claim_lines_missing_from_their_remittance": len(
                self.lines_without_outcome_in_adjudicated_claims
            ),
            "claims_without_remittance": self.claims_without_remittance,
            "later_remittances_not_applied": self.later_remittances,
            "reversals": self.reversals,
        }


def _match_lines(
    lines: Sequence[ClaimLine], outcomes: Sequence[LineOutcome]
) -> tuple[dict[int, tuple[LineOutcome, str]], list[LineOutcome]]:
    """Match one claim's lines to one claim payment's service lines."""
    matched: dict[int, tuple[LineOutcome, str]] = {}
    by_control = {line.control_number: line for line in lines if line.control_number}
    pending: list[LineOutcome] = []
    for outcome in outcomes:
        line = by_control.get(outcome.control_number) if outcome.control_number else None
        if line is not None and line.line_number not in matched:
            matched[line.line_number] = (outcome, "control_number")
        else:
            pending.append(outcome)
    unmatched: list[LineOutcome] = []
    for outcome in pending:
        code = outcome.submitted_procedure_code or outcome.procedure_code
        for line in lines:
            if (
                line.line_number not in matched
                and line.procedure_code == code
                and sorted(line.modifiers) == sorted(outcome.modifiers)
                and (outcome.service_date is None or outcome.service_date == line.service_date)
            ):
                matched[line.line_number] = (outcome, "fallback")
                break
        else:
            unmatched.append(outcome)
    return matched, unmatched


def adjudications(
    claims: Sequence[Claim], remittances: Sequence[Remittance], report: JoinReport
) -> Iterator[tuple[int, ClaimPayment, dt.date | None]]:
    """The claim-level half of the join: ``(claim index, claim payment, received date)`` for every
    remittance claim that answers a submitted claim, in the order the join applies them (see the module
    docstring). Reversals, unmatched remittance claims, later remittances and the claims without a
    remittance are counted in ``report``."""
    by_id: dict[str, list[int]] = defaultdict(list)
    for index, claim in enumerate(claims):
        by_id[claim.claim_id].append(index)
    payments = [
        (r.received_date or dt.date.max, order, payment, r.received_date)
        for order, r in enumerate(remittances)
        for payment in r.claims
    ]
    payments.sort(key=lambda p: (p[0], p[1]))
    adjudicated: set[int] = set()
    for _, _, payment, received in payments:
        if payment.status_code in _NOT_ADJUDICATION:
            report.reversals += payment.status_code == "22"
            continue
        candidates = by_id.get(payment.claim_id)
        if not candidates:
            report.unmatched_remittance_claims.append(payment.claim_id)
            continue
        if len(candidates) == 1:
            # The usual case: one submission of this claim id.
            index = candidates[0]
            if index in adjudicated or (
                received is not None and (claims[index].submission_date or dt.date.min) > received
            ):
                report.later_remittances += 1
                continue
        else:
            # A claim id submitted more than once: the k-th adjudication answers the k-th submission (in
            # submission order) made before the remittance arrived; one more is a later decision, not
            # applied.
            waiting = [
                i
                for i in candidates
                if i not in adjudicated
                and (received is None or (claims[i].submission_date or dt.date.min) <= received)
            ]
            if not waiting:
                report.later_remittances += 1
                continue
            index = min(waiting, key=lambda i: (claims[i].submission_date or dt.date.min, i))
        adjudicated.add(index)
        yield index, payment, received
    report.claims_without_remittance = len(claims) - len(adjudicated)


def claim_level_outcome(payment: ClaimPayment) -> LineOutcome:
    """The outcome every line gets when the payment has no service lines (claim-level adjudication)."""
    return LineOutcome(
        procedure_code="",
        charge=payment.charge,
        paid=payment.paid,
        adjustments=payment.adjustments,
        remark_codes=payment.remark_codes,
    )


def match_lines(
    claim: Claim, payment: ClaimPayment, report: JoinReport
) -> dict[int, tuple[LineOutcome, str]]:
    """The line-level half of the join for one claim and the payment that answers it: line number ->
    (outcome, method) for the payment's service lines; the lines and outcomes left unmatched are listed
    in ``report``. ``payment`` must have service lines (else see :func:`claim_level_outcome`)."""
    matched, unmatched = _match_lines(claim.lines, payment.lines)
    for outcome in unmatched:
        report.unmatched_remittance_lines.append((payment.claim_id, outcome.procedure_code))
    if len(matched) != len(claim.lines):
        for line in claim.lines:
            if line.line_number not in matched:
                report.lines_without_outcome_in_adjudicated_claims.append((claim.claim_id, line.line_number))
    return matched


def join_outcomes(claims: Sequence[Claim], remittances: Sequence[Remittance]) -> JoinReport:
    """Join remittances to claims; see the module docstring for the rules."""
    report = JoinReport()
    for index, payment, received in adjudications(claims, remittances, report):
        claim = claims[index]
        if not payment.lines:
            # Claim-level adjudication: the claim's adjustments apply to every line.
            whole = claim_level_outcome(payment)
            for line in claim.lines:
                report.matches[(index, line.line_number)] = LineMatch(whole, payment, received, "claim_level")
            continue
        for number, (outcome, method) in match_lines(claim, payment, report).items():
            report.matches[(index, number)] = LineMatch(outcome, payment, received, method)
    return report
