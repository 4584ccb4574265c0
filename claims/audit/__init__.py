"""Pre-submission coding audit: dated, cited rules with fixes (``audit_claim``, ``apply_fix``)."""

from claims.audit.engine import (
    REGISTRY,
    AuditContext,
    Finding,
    Fix,
    FixAction,
    Rule,
    Severity,
    apply_fix,
    audit_claim,
    rule,
)

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
