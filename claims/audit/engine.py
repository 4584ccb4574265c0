"""The audit engine: dated, cited rules over a claim, findings with fixes that code can apply.

A rule is a plain function registered with :func:`rule`: an id, a title, a severity (``error``: the claim
will be denied or returned; ``warning``: it raises the risk), the payer types it applies to, the dates it
is in effect (checked against the claim's service dates) and a citation. It receives the claim and an
:class:`AuditContext` (reference tables, the payer's policy, authorizations on file, earlier claims) and
yields :class:`Finding` objects. A finding names the rule, the lines, a message a biller understands and,
where one exists, a :class:`Fix`: a concrete edit that :func:`apply_fix` performs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from claims.enums import PlanType
from claims.model import Authorization, Claim, ClaimLine

__all__ = [
    "REGISTRY",
    "AuditContext",
    "Finding",
    "Fix",
    "FixAction",
    "Rule",
    "Severity",
    "apply_fix",
    "audit_claim",
    "rule",
]


class Severity(StrEnum):
    ERROR = "error"  # will be denied or returned
    WARNING = "warning"  # raises the risk


class FixAction(StrEnum):
    """What a fix changes. ``line`` is the line number; ``value`` the new value."""

    ADD_MODIFIER = "add_modifier"
    REMOVE_MODIFIER = "remove_modifier"
    SET_UNITS = "set_units"
    SET_NDC = "set_ndc"
    REMOVE_LINE = "remove_line"
    SET_PROCEDURE_CODE = "set_procedure_code"
    ATTACH_AUTHORIZATION = "attach_authorization"
    ADD_DIAGNOSIS = "add_diagnosis"
    SET_PRINCIPAL_DIAGNOSIS = "set_principal_diagnosis"
    SET_CLINICAL_TRIAL_NUMBER = "set_clinical_trial_number"
    ADD_CONDITION_CODE = "add_condition_code"
    ADD_LINE = "add_line"


@dataclass(frozen=True, slots=True)
class Fix:
    """A concrete edit to a claim, e.g. ``Fix(ADD_MODIFIER, line=3, value="JZ")``.

    For ``ADD_LINE`` the value is a mapping of :class:`~claims.model.ClaimLine` fields (without the line
    number, which is the next free one).
    """

    action: FixAction
    line: int | None = None
    value: Any = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found on a claim."""

    rule_id: str
    severity: Severity
    lines: tuple[int, ...]
    message: str
    citation: str
    fix: Fix | None = None

    def to_dict(self) -> dict[str, Any]:
        fix = None
        if self.fix is not None:
            value = self.fix.value
            fix = {
                "action": self.fix.action.value,
                "line": self.fix.line,
                "value": str(value) if isinstance(value, Decimal) else value,
                "description": self.fix.description,
            }
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "lines": list(self.lines),
            "message": self.message,
            "citation": self.citation,
            "fix": fix,
        }


@dataclass
class AuditContext:
    """What rules may look at besides the claim."""

    payer: Any = None  # claims.policy.PayerPolicy of the billed payer, when known
    authorizations: Sequence[Authorization] = ()
    submitted: Sequence[Claim] = ()  # claims already submitted (duplicates, authorization usage)
    today: dt.date | None = None  # the submission date when the claim has none
    extra: dict[str, Any] = field(default_factory=dict)

    def submission_date(self, claim: Claim) -> dt.date:
        return claim.submission_date or self.today or dt.date.today()


Check = Callable[[Claim, AuditContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A registered rule and its metadata (the rule catalogue is generated from these)."""

    id: str
    title: str
    severity: Severity
    citation: str
    check: Check
    payer_types: frozenset[PlanType] = frozenset(PlanType)
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None

    def applies_to(self, claim: Claim) -> bool:
        return self.applies(claim.payer.plan_type, claim.service_from, claim.service_to)

    def applies(self, plan_type: PlanType, service_from: dt.date, service_to: dt.date) -> bool:
        """Whether the rule checks a claim of ``plan_type`` with services in ``[service_from, service_to]``."""
        if plan_type not in self.payer_types:
            return False
        if self.effective_from is not None and service_to < self.effective_from:
            return False
        return not (self.effective_to is not None and service_from > self.effective_to)

    def finding(self, lines: Iterable[int], message: str, fix: Fix | None = None) -> Finding:
        return Finding(self.id, self.severity, tuple(lines), message, self.citation, fix)


REGISTRY: dict[str, Rule] = {}


def rule(
    id: str,
    title: str,
    *,
    severity: Severity,
    citation: str,
    payer_types: Iterable[PlanType] = tuple(PlanType),
    effective_from: dt.date | None = None,
    effective_to: dt.date | None = None,
) -> Callable[[Callable[[Rule, Claim, AuditContext], Iterable[Finding]]], Rule]:
    """Register a rule. The decorated function receives the rule (to build findings), the claim and context."""

    def register(function: Callable[[Rule, Claim, AuditContext], Iterable[Finding]]) -> Rule:
        if id in REGISTRY:
            raise ValueError(f"rule {id} is registered twice")
        holder: list[Rule] = []
        registered = Rule(
            id=id,
            title=title,
            severity=severity,
            citation=citation,
            check=lambda claim, context: function(holder[0], claim, context),
            payer_types=frozenset(payer_types),
            effective_from=effective_from,
            effective_to=effective_to,
        )
        holder.append(registered)
        REGISTRY[id] = registered
        return registered

    return register


def audit_claim(
    claim: Claim,
    *,
    payer: Any = None,
    authorizations: Sequence[Authorization] = (),
    submitted: Sequence[Claim] = (),
    today: dt.date | None = None,
    rules: Iterable[Rule] | None = None,
) -> list[Finding]:
    """Run every rule that applies to ``claim``; findings sorted by severity, then line.

    >>> from claims.samples import make_claim
    >>> audit_claim(make_claim())  # doctest: +SKIP
    []
    """
    from claims.audit import rules as _rules  # noqa: F401  (registers the rules on first use)

    context = AuditContext(payer=payer, authorizations=authorizations, submitted=submitted, today=today)
    findings: list[Finding] = []
    dates = [line.service_date for line in claim.lines]
    plan_type, service_from, service_to = claim.payer.plan_type, min(dates), max(dates)
    for candidate in REGISTRY.values() if rules is None else rules:
        if candidate.applies(plan_type, service_from, service_to):
            findings.extend(candidate.check(claim, context))
    findings.sort(key=lambda f: (f.severity is not Severity.ERROR, f.lines or (0,), f.rule_id))
    return findings


def apply_fix(claim: Claim, fix: Fix) -> Claim:
    """The claim with ``fix`` applied (validated again); the original is unchanged.

    Only what the fix changes is rebuilt and validated (the edited line from its fields, then the claim's
    own checks); the untouched lines, diagnoses and parties are shared with the original, as in
    ``model_copy``.
    """
    data: dict[str, Any] = dict(claim)  # shallow: field name -> value (already validated models)
    lines: list[Any] = list(claim.lines)
    index = next((i for i, line in enumerate(lines) if line.line_number == fix.line), None)
    action = fix.action
    if fix.line is not None and index is None and action is not FixAction.ADD_LINE:
        raise ValueError(f"the claim has no line {fix.line}")

    def edit(**changes: Any) -> None:
        assert index is not None
        lines[index] = ClaimLine.model_validate({**lines[index].model_dump(), **changes})

    if action is FixAction.ADD_MODIFIER:
        assert index is not None
        if fix.value not in lines[index].modifiers:
            edit(modifiers=[*lines[index].modifiers, fix.value][:4])
    elif action is FixAction.REMOVE_MODIFIER:
        assert index is not None
        edit(modifiers=[m for m in lines[index].modifiers if m != fix.value])
    elif action is FixAction.SET_UNITS:
        edit(units=Decimal(str(fix.value)))
    elif action is FixAction.SET_NDC:
        edit(ndc=fix.value)
    elif action is FixAction.SET_PROCEDURE_CODE:
        edit(procedure_code=fix.value)
    elif action is FixAction.REMOVE_LINE:
        assert index is not None
        del lines[index]
    elif action is FixAction.ADD_LINE:
        number = max(line.line_number for line in lines) + 1
        lines.append(ClaimLine.model_validate({**fix.value, "line_number": number}))
    elif action is FixAction.ATTACH_AUTHORIZATION:
        if index is not None:
            edit(prior_authorization=fix.value)
        else:
            data["prior_authorization"] = fix.value
    elif action is FixAction.ADD_DIAGNOSIS:
        if fix.value not in [d.code for d in claim.diagnoses]:
            data["diagnoses"] = [*claim.diagnoses, {"code": fix.value}]
    elif action is FixAction.SET_PRINCIPAL_DIAGNOSIS:
        old = [d.code for d in claim.diagnoses]
        new = [fix.value, *(c for c in old if c != fix.value)]
        data["diagnoses"] = [{"code": c} for c in new]
        position = {i + 1: new.index(code) + 1 for i, code in enumerate(old)}  # pointers follow their code
        for k, line in enumerate(lines):
            lines[k] = ClaimLine.model_validate(
                {**line.model_dump(), "diagnosis_pointers": [position[p] for p in line.diagnosis_pointers]}
            )
    elif action is FixAction.SET_CLINICAL_TRIAL_NUMBER:
        data["clinical_trial_number"] = fix.value
    elif action is FixAction.ADD_CONDITION_CODE and fix.value not in claim.condition_codes:
        data["condition_codes"] = [*claim.condition_codes, fix.value]
    data["lines"] = lines
    return Claim.model_validate(data)
