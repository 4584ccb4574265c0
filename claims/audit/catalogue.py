"""The rule catalogue, generated from the registry (``python -m claims.audit.catalogue``)."""

from __future__ import annotations

from claims.audit.engine import REGISTRY
from claims.enums import PlanType

__all__ = ["rule_catalogue_markdown"]


def rule_catalogue_markdown() -> str:
    """Markdown table of every registered rule: id, title, severity, payer types, dates, citation."""
    from claims.audit import rules as _rules  # noqa: F401  (registers the rules)

    lines = [
        "# Audit rule catalogue",
        "",
        "Generated from the rule registry by `python -m claims.audit.catalogue`; do not edit by hand.",
        "`error`: the claim will be denied or returned; `warning`: it raises the risk of a denial.",
        "",
        "| id | title | severity | payer types | effective | citation |",
        "|---|---|---|---|---|---|",
    ]
    for rule in sorted(REGISTRY.values(), key=lambda r: r.id):
        payers = (
            "all"
            if rule.payer_types == frozenset(PlanType)
            else ", ".join(sorted(p.value for p in rule.payer_types))
        )
        start = rule.effective_from.isoformat() if rule.effective_from else "always"
        end = rule.effective_to.isoformat() if rule.effective_to else "open"
        effective = "always" if start == "always" and end == "open" else f"{start} to {end}"
        cells = [rule.id, rule.title, rule.severity.value, payers, effective, rule.citation]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(rule_catalogue_markdown(), end="")
