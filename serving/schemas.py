"""Request and response models of the HTTP API (and the rows of ``denials score``).

They are separate from the domain models: requests *contain* domain claims and authorizations (validated
by the domain's own rules, so a bad field gets a field path), responses are built from the scorer's results
by :func:`claim_score` and never echo patient data (only the claim id the caller sent, line numbers,
codes, money and probabilities).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from claims.audit import Finding
from claims.model import Authorization, Claim
from serving.scorer import ClaimResult, FixOutcome, LineResult

__all__ = [
    "ActionOut",
    "AuditRequest",
    "AuditResponse",
    "ClaimAudit",
    "ClaimScore",
    "FindingOut",
    "FixOut",
    "LineScore",
    "ModelOut",
    "Problem",
    "ReasonOut",
    "ScoreRequest",
    "ScoreResponse",
    "action_summary",
    "actions_out",
    "claim_fields",
    "claim_score",
    "finding_out",
    "findings_out",
    "line_fields",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreRequest(_In):
    """One claim (``claim``) or several (``claims``), with the authorizations on file.

    ``authorizations`` omitted or null: not known, the prior-authorization checks are skipped (a warning
    says so); an empty list: none on file.
    """

    claim: Claim | None = None
    claims: list[Claim] | None = None
    authorizations: list[Authorization] | None = None

    @model_validator(mode="after")
    def _one_or_many(self) -> ScoreRequest:
        if (self.claim is None) == (self.claims is None):
            raise ValueError("send either `claim` (one claim) or `claims` (a list), not both or neither")
        if self.claims is not None and not self.claims:
            raise ValueError("`claims` is empty: send at least one claim")
        return self

    @property
    def all_claims(self) -> list[Claim]:
        return [self.claim] if self.claim is not None else list(self.claims or [])


class AuditRequest(ScoreRequest):
    """The same body as scoring: findings only, no model."""


class ReasonOut(_Out):
    group: str = Field(description="feature-catalogue group (authorization, waste_modifier, units, ...)")
    text: str = Field(description="the reason in plain words")
    contribution: float = Field(description="exact TreeSHAP contribution of the group, in log-odds")


class FixOut(_Out):
    action: str
    line: int | None
    value: Any = None
    description: str


class FindingOut(_Out):
    rule_id: str
    severity: Literal["error", "warning"]
    lines: list[int]
    message: str
    citation: str
    fix: FixOut | None = None
    line_risk_after: dict[int, float | None] | None = Field(
        None, description="line number -> denial probability after the fix (null: the fix removes the line)"
    )
    claim_risk_after: float | None = None
    expected_denied_dollars_after: float | None = None
    dollars_saved: float | None = None


class LineScore(_Out):
    line_number: int
    procedure_code: str
    charge: float
    denial_probability: float = Field(description="calibrated probability that the payer denies the line")
    likely_category: str | None = Field(None, description="most likely denial category if denied")
    category_probability: float | None = Field(None, description="probability of that category, if denied")
    reasons: list[ReasonOut] | None = Field(
        None, description="top reasons (lines with a finding or high risk; null when not explained)"
    )
    findings: list[int] = Field(description="indices into the claim's findings")


class ActionOut(_Out):
    claim_id: str
    finding: int = Field(description="index into the claim's findings")
    rule_id: str
    description: str
    claim_risk_before: float
    claim_risk_after: float
    dollars_saved: float


class ClaimScore(_Out):
    claim_id: str
    claim_risk: float = Field(description="probability that at least one line is denied")
    expected_denied_dollars: float = Field(description="sum of line denial probability x line charge")
    lines: list[LineScore]
    findings: list[FindingOut]
    actions: list[ActionOut] = Field(description="the fixes of this claim, by dollars saved")
    warnings: list[str]


class ScoreResponse(_Out):
    model: str = Field(description="model name and version that scored")
    claims: list[ClaimScore]
    top_actions: list[ActionOut] = Field(description="the fixes saving the most dollars, all claims")
    errors: list[str] = Field(
        default_factory=list, description="837 only: claims that could not be read (segment positions)"
    )


class ClaimAudit(_Out):
    claim_id: str
    findings: list[FindingOut]


class AuditResponse(_Out):
    claims: list[ClaimAudit]


class ModelOut(_Out):
    name: str
    version: str | None
    alias: str | None
    run_id: str | None
    uri: str
    source: str
    loaded_at: str
    training_period: dict[str, str]
    metrics: dict[str, float]
    features: int
    trees: int
    note: str | None


class Problem(_Out):
    """RFC 9457 problem details (plus ``errors`` where there are several)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


def _fix_out(finding: Finding) -> FixOut | None:
    if finding.fix is None:
        return None
    data = finding.to_dict()["fix"]
    return FixOut(**data)


def finding_out(finding: Finding, outcome: FixOutcome | None = None) -> FindingOut:
    out = FindingOut(
        rule_id=finding.rule_id,
        severity=finding.severity.value,
        lines=list(finding.lines),
        message=finding.message,
        citation=finding.citation,
        fix=_fix_out(finding),
    )
    if outcome is not None:
        out.line_risk_after = {
            n: (None if p is None else round(p, 6)) for n, p in outcome.line_risk_after.items()
        }
        out.claim_risk_after = round(outcome.claim_risk_after, 6)
        out.expected_denied_dollars_after = round(outcome.expected_denied_after, 2)
        out.dollars_saved = round(outcome.dollars_saved, 2)
    return out


def line_fields(line: LineResult) -> dict[str, Any]:
    """A line's scores as the response gives them (rounded); ``LineScore`` and the batch tables share it."""
    return {
        "line_number": line.line_number,
        "procedure_code": line.procedure_code,
        "charge": line.charge,
        "denial_probability": round(line.probability, 6),
        "likely_category": line.category,
        "category_probability": None
        if line.category_probability is None
        else round(line.category_probability, 6),
    }


def claim_fields(result: ClaimResult) -> dict[str, Any]:
    """A claim's id and totals as the response gives them (rounded)."""
    return {
        "claim_id": result.claim_id,
        "claim_risk": round(result.risk, 6),
        "expected_denied_dollars": round(result.expected_denied, 2),
    }


def findings_out(result: ClaimResult) -> list[FindingOut]:
    """The claim's findings, each with the outcome of its fix (shared by findings whose fixes are equal)."""
    by_finding = {f.finding: f for f in result.fixes}
    for position, finding in enumerate(result.findings):
        if position in by_finding or finding.fix is None:
            continue
        same = next((o for o in result.fixes if o.fix == finding.fix), None)
        if same is not None:
            by_finding[position] = same
    return [finding_out(f, by_finding.get(i)) for i, f in enumerate(result.findings)]


def actions_out(result: ClaimResult) -> list[ActionOut]:
    """The claim's fixes as actions, by dollars saved."""
    return [
        ActionOut(
            claim_id=result.claim_id,
            finding=o.finding,
            rule_id=result.findings[o.finding].rule_id,
            description=o.fix.description,
            claim_risk_before=round(result.risk, 6),
            claim_risk_after=round(o.claim_risk_after, 6),
            dollars_saved=round(o.dollars_saved, 2),
        )
        for o in result.actions
    ]


def claim_score(result: ClaimResult) -> ClaimScore:
    """The response body of one scored claim (the API and ``denials score`` both use it)."""
    return ClaimScore(
        **claim_fields(result),
        lines=[
            LineScore(
                **line_fields(line),
                reasons=None
                if line.reasons is None
                else [
                    ReasonOut(group=r.group, text=r.text, contribution=r.contribution) for r in line.reasons
                ],
                findings=line.findings,
            )
            for line in result.lines
        ],
        findings=findings_out(result),
        actions=actions_out(result),
        warnings=result.warnings,
    )


def action_summary(scores: list[ClaimScore], limit: int = 20) -> list[ActionOut]:
    """The actions of every claim, by dollars saved (largest first), at most ``limit``."""
    actions = [a for s in scores for a in s.actions if a.dollars_saved > 0]
    return sorted(actions, key=lambda a: -a.dollars_saved)[:limit]
