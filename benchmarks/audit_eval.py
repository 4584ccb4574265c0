"""Evaluate the coding audit against the simulator's injected coder errors, and time it.

    .venv/bin/python benchmarks/audit_eval.py [--claims 20000] [--seed 7] [--json OUT]

For every injected error type that a rule is meant to catch, recall is the share of injected errors
that a mapped rule flags (on the error's line for line-level errors, anywhere on the claim for claim-level
ones); injected errors no public rule can see are counted apart (see ``catchable``). False positives:
error-severity findings on claims with no injected error and no other real problem (the simulator's
truth has no rule-based cause of probability >= 0.4 on any line of the claim, e.g. an authorization the
practice never requested or a mistyped authorization number). Per-rule precision is the share of a
rule's findings that land on a real problem (an injected error the rule is mapped to, or a line with a
rule-based cause of probability at least 0.4 in the simulator's truth). Speed: audit time per claim over
the whole run, and for one 10-line claim repeated, against a reference measured in the same run
(validating the same claim with pydantic).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from claims.audit import REGISTRY, Severity, audit_claim
from claims.audit.engine import Finding
from claims.model import Claim
from claims.policy import load_payers
from claims.reference import load_drugs, load_ndc_crosswalk, unit_limit
from claims.simulate import SimulationConfig, simulate_practice
from claims.simulate.engine import SimulationResult

#: injected error type -> rule id prefixes meant to catch it
CATCHES: dict[str, tuple[str, ...]] = {
    "unit_conversion": ("DRUG-UNITS",),
    "missing_jw_jz": ("JWJZ-",),
    "jw_without_waste": ("JWJZ-",),
    "second_initial": ("ADMIN-SECOND-INITIAL",),
    "addon_without_primary": ("ADMIN-ADDON",),
    "missing_modifier_25": ("MOD25",),
    "missing_trial_element": ("TRIAL-",),
    "diagnosis_not_covered": ("DX-", "NECESSITY-"),
    "ndc_mismatch": ("NDC-",),
    "auth_number_missing": ("AUTH-",),
    "late_submission": ("TIMELY-",),
    "duplicate_submission": ("DUP-",),
}


JZ_REQUIRED = dt.date(2023, 7, 1)
#: A line has a real problem when the simulator's truth gives it a rule-based cause at least this likely
#: (a mistyped authorization number is denied 45% of the time: real, though not an injected coder error).
REAL_PROBLEM = 0.4


def catchable(claim: Claim, line_number: int | None, kind: str) -> bool:
    """Whether a rule could see this injected error on the claim as submitted.

    Not every injected mistake breaks a public rule: a x10 unit error that stays under the unit limit and
    within what the NDC packages hold, a diagnosis swapped for another one the drug is also labeled for, a
    JZ left off before JZ was required (2023-07-01) or on a drug packaged under OPPS on a hospital claim.
    Those are counted apart (``not_catchable``), not as misses.
    """
    line = next((ln for ln in claim.lines if ln.line_number == line_number), None)
    drugs = load_drugs()
    if kind == "unit_conversion" and line is not None:
        limit = unit_limit(line.procedure_code)
        package = load_ndc_crosswalk().get(line.ndc or "")
        capacity = (
            package.billing_units_per_package * line.ndc_quantity if package and line.ndc_quantity else None
        )
        waste = sum((ln.units for ln in claim.lines if ln.procedure_code == line.procedure_code
                     and "JW" in ln.modifiers), Decimal(0))  # fmt: skip
        return (limit is not None and line.units > limit) or (
            capacity is not None and line.units + waste > capacity
        )
    if kind == "missing_jw_jz" and line is not None:
        drug = drugs.get(line.procedure_code)
        packaged = claim.form.value == "institutional" and drug is not None and drug.opps_status == "N"
        return line.service_date >= JZ_REQUIRED and not packaged
    if kind == "diagnosis_not_covered":
        dx = [d.code.replace(".", "") for d in claim.diagnoses]
        return any(
            drugs[ln.procedure_code].complex_administration
            and drugs[ln.procedure_code].icd10_families
            and not any(d.startswith(f) for d in dx for f in drugs[ln.procedure_code].icd10_families)
            for ln in claim.lines
            if ln.procedure_code in drugs
        )
    return True


def _matches(finding: Finding, prefixes: Sequence[str]) -> bool:
    return any(finding.rule_id.startswith(p) for p in prefixes)


def audit_history(result: SimulationResult) -> tuple[list[list[Finding]], float]:
    """Audit every simulated claim the way the practice would before sending it; return findings and seconds."""
    payers = {p.payer_id: p for p in load_payers().values()}
    auths: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for auth in result.authorizations:
        auths[(auth.payer_id, auth.member_id)].append(auth)
    earlier: dict[str, list[Claim]] = defaultdict(list)
    findings: list[list[Finding]] = []
    start = time.perf_counter()
    for claim in result.claims:  # already in submission order
        member = claim.patient.member_id
        findings.append(
            audit_claim(
                claim,
                payer=payers.get(claim.payer.payer_id),
                authorizations=auths[(claim.payer.payer_id, member)],
                submitted=earlier[member],
            )
        )
        earlier[member].append(claim)
    return findings, time.perf_counter() - start


def evaluate(result: SimulationResult, findings: list[list[Finding]]) -> dict[str, Any]:
    """Recall per injected error type, false-positive rate, per-rule precision and finding counts."""
    errors_by_claim: dict[int, list[tuple[int | None, str]]] = defaultdict(list)
    for index, line, kind in result.errors:
        errors_by_claim[index].append((line, kind))
    risky: dict[int, set[int]] = defaultdict(set)  # claim -> lines with a real, rule-catchable problem
    for truth in result.truth:
        if truth.rule_based and truth.probability >= REAL_PROBLEM:
            risky[truth.claim_index].add(truth.line_number)
    recall: dict[str, dict[str, float | int]] = {}
    for kind, prefixes in CATCHES.items():
        total = caught = hidden = 0
        for index, errors in errors_by_claim.items():
            for line, error_kind in errors:
                if error_kind != kind:
                    continue
                hits = [f for f in findings[index] if _matches(f, prefixes)]
                found = (line is None and bool(hits)) or (
                    line is not None and any(line in f.lines or not f.lines for f in hits)
                )
                if not found and not catchable(result.claims[index], line, kind):
                    hidden += 1  # no public rule can see it (counted apart, not as a miss)
                    continue
                total += 1
                caught += found
        recall[kind] = {
            "injected": total + hidden,
            "not_catchable": hidden,
            "catchable": total,
            "caught": caught,
            "recall": round(caught / total, 4) if total else 1.0,
        }
    clean = [i for i in range(len(result.claims)) if i not in errors_by_claim and i not in risky]
    flagged = [i for i in clean if any(f.severity is Severity.ERROR for f in findings[i])]
    fp_rules = Counter(f.rule_id for i in flagged for f in findings[i] if f.severity is Severity.ERROR)
    per_rule: dict[str, dict[str, float | int]] = {}
    for rule_id in sorted(REGISTRY):
        mapped = {k for k, prefixes in CATCHES.items() if any(rule_id.startswith(p) for p in prefixes)}
        hits = total = 0
        for index, claim_findings in enumerate(findings):
            for finding in claim_findings:
                if finding.rule_id != rule_id:
                    continue
                total += 1
                injected = {k for _, k in errors_by_claim.get(index, [])}
                real_line = any(line in risky.get(index, set()) for line in finding.lines) or (
                    not finding.lines and bool(risky.get(index))
                )
                hits += bool(mapped & injected) or real_line
        per_rule[rule_id] = {"findings": total, "precision": round(hits / total, 4) if total else None}
    return {
        "claims": len(result.claims),
        "claims_with_injected_errors": len(errors_by_claim),
        "recall": recall,
        "clean_claims": len(clean),
        "false_positive_claims": len(flagged),
        "false_positive_rate": round(len(flagged) / len(clean), 4) if clean else None,
        "false_positive_rules": dict(fp_rules.most_common()),
        "per_rule": per_rule,
    }


def time_one_claim(claim: Claim, repeats: int = 2000) -> dict[str, float]:
    """Median microseconds to audit one claim, against validating the same claim with pydantic (reference)."""
    data = claim.model_dump()
    audit_claim(claim)
    audit_runs, reference_runs = [], []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            audit_claim(claim)
        audit_runs.append((time.perf_counter() - start) / repeats * 1e6)
        start = time.perf_counter()
        for _ in range(repeats):
            Claim.model_validate(data)
        reference_runs.append((time.perf_counter() - start) / repeats * 1e6)
    audit_us, reference_us = statistics.median(audit_runs), statistics.median(reference_runs)
    return {
        "lines": len(claim.lines),
        "audit_us": round(audit_us, 1),
        "claims_per_second": round(1e6 / audit_us),
        "reference_validate_us": round(reference_us, 1),
        "ratio_to_reference": round(audit_us / reference_us, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    result = simulate_practice(SimulationConfig(claims=args.claims, seed=args.seed))
    findings, seconds = audit_history(result)
    report = evaluate(result, findings)
    ten = next(c for c in result.claims if len(c.lines) == 10)
    report["speed"] = {
        "history_claims_per_second": round(len(result.claims) / seconds),
        "history_us_per_claim": round(seconds / len(result.claims) * 1e6, 1),
        "one_10_line_claim": time_one_claim(ten),
    }
    print(f"{report['claims']} claims, {report['claims_with_injected_errors']} with injected errors")
    print(
        f"{'error type':24} {'injected':>9} {'not visible':>12} {'catchable':>10} {'caught':>7} {'recall':>7}"
    )
    for kind, r in report["recall"].items():
        counts = f"{r['injected']:>9} {r['not_catchable']:>12} {r['catchable']:>10} {r['caught']:>7}"
        print(f"{kind:24} {counts} {r['recall']:>7}")
    print(f"false positives: {report['false_positive_claims']} of {report['clean_claims']} clean claims "
          f"({report['false_positive_rate']}) {report['false_positive_rules']}")  # fmt: skip
    print(f"{'rule':34} {'findings':>9} {'precision':>9}")
    for rule_id, row in report["per_rule"].items():
        print(f"{rule_id:34} {row['findings']:>9} {row['precision']!s:>9}")
    print(json.dumps(report["speed"]))
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(report, handle, indent=2)
    return report


if __name__ == "__main__":
    main()
