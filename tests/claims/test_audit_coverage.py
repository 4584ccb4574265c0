"""Coverage rules (trials, prior authorization, medical necessity, timely filing, duplicates, code validity),
and the whole audit against the simulator's injected coder errors."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest

from claims.audit import Finding, FixAction, Severity, audit_claim
from claims.audit.rules import administration, coverage
from claims.enums import AuthorizationStatus, DenialCategory, PlanType
from claims.model import Authorization, Claim, ClaimLine, Payer
from claims.policy import PayerPolicy, load_payers
from claims.reference import load_drugs
from claims.samples import MEDICARE_ADVANTAGE, make_claim, make_line, sample_authorizations
from claims.simulate import SimulationConfig, simulate_practice
from tests.claims.audit_checks import findings_of as _findings
from tests.claims.audit_checks import fix_cleanly as _fixed

PAYERS = load_payers()
MEDICARE_POLICY = PAYERS["medicare_mac"]
PINNACLE = PAYERS["commercial_pinnacle"]  # the payer id of the FOLFOX sample's commercial plan


def _rebuild(claim: Claim, lines: list[ClaimLine] | None = None, **overrides: Any) -> Claim:
    data = claim.model_dump()
    if lines is not None:
        data["lines"] = [line.model_dump() for line in lines]
    data.update(overrides)
    return Claim.model_validate(data)


def _replace(claim: Claim, number: int, **fields: Any) -> Claim:
    return _rebuild(
        claim,
        [line.model_copy(update=fields) if line.line_number == number else line for line in claim.lines],
    )


def _on(claim: Claim, day: dt.date, submitted_after: int = 2) -> Claim:
    """The claim moved to service date ``day``, submitted ``submitted_after`` days later."""
    lines = [line.model_copy(update={"service_date": day}) for line in claim.lines]
    return _rebuild(claim, lines, submission_date=day + dt.timedelta(days=submitted_after))


def _payer(policy: PayerPolicy) -> dict[str, Any]:
    return Payer(payer_id=policy.payer_id, name=policy.name, plan_type=policy.plan_type).model_dump()


# --- clinical trials ----------------------------------------------------------------------------------------


def _trial() -> Claim:
    return make_claim("hospital_outpatient_trial")


def test_the_trial_sample_has_every_trial_element() -> None:
    assert [f for f in audit_claim(_trial(), payer=MEDICARE_POLICY) if f.rule_id.startswith("TRIAL-")] == []


def test_trial_claim_without_nct_number_and_its_effective_date() -> None:
    claim = _trial().model_copy(update={"clinical_trial_number": None})
    [finding] = _findings(claim, "TRIAL-NCT-MISSING")
    assert finding.severity is Severity.ERROR and finding.fix is None and 1 in finding.lines
    assert _findings(_on(claim, dt.date(2014, 1, 1)), "TRIAL-NCT-MISSING")
    assert _findings(_on(claim, dt.date(2013, 12, 31)), "TRIAL-NCT-MISSING") == []
    plain = _rebuild(make_claim())
    assert _findings(plain, "TRIAL-NCT-MISSING") == []


def test_nct_without_z006_is_fixed_by_adding_it() -> None:
    claim = _rebuild(_trial(), diagnoses=[{"code": "C50.911"}])
    [finding] = _findings(claim, "TRIAL-Z006-MISSING")
    assert finding.fix is not None and (finding.fix.action, finding.fix.value) == (
        FixAction.ADD_DIAGNOSIS,
        "Z00.6",
    )
    assert _fixed(claim, finding).diagnosis_codes == ["C50.911", "Z00.6"]


def test_routine_trial_line_without_q1() -> None:
    claim = _replace(_trial(), 2, modifiers=[])
    [finding] = _findings(claim, "TRIAL-Q1-MISSING")
    assert finding.severity is Severity.WARNING and finding.lines == (2,)
    assert finding.fix is not None and finding.fix.value == "Q1"
    _fixed(claim, finding)
    assert _findings(_trial(), "TRIAL-Q1-MISSING") == []  # the J9999 Q0 line is not a routine line


def test_investigational_item_without_q0() -> None:
    claim = _replace(_trial(), 3, modifiers=[])
    [finding] = _findings(claim, "TRIAL-Q0-MISSING")
    assert finding.lines == (3,) and finding.severity is Severity.ERROR
    assert finding.fix is not None and finding.fix.value == "Q0"
    _fixed(claim, finding)
    assert _findings(claim, "TRIAL-Q1-MISSING") == []  # the investigational line needs Q0, not Q1


def test_noc_drug_outside_a_trial_is_not_investigational() -> None:
    noc = make_line(12, "J9999", "1", "500.00", description="NIVOLUMAB AND HYALURONIDASE 600 MG")
    claim = _rebuild(make_claim(), [*make_claim().lines, noc])
    assert _findings(claim, "TRIAL-Q0-MISSING") == []
    study = noc.model_copy(
        update={"description": "INVESTIGATIONAL AGENT SPONSOR SUPPLIED", "charge": Decimal("0.01")}
    )
    assert _findings(_rebuild(make_claim(), [*make_claim().lines, study]), "TRIAL-Q0-MISSING")


def test_institutional_trial_claim_without_condition_code_30() -> None:
    claim = _trial().model_copy(update={"condition_codes": []})
    [finding] = _findings(claim, "TRIAL-CONDITION-30")
    assert finding.fix is not None and finding.fix.action is FixAction.ADD_CONDITION_CODE
    assert _fixed(claim, finding).condition_codes == ["30"]
    assert _findings(make_claim(), "TRIAL-CONDITION-30") == []  # professional, no trial


def test_medicare_advantage_trial_claim_billed_to_the_plan() -> None:
    ma = PAYERS["ma_silverpath"]
    claim = _rebuild(_trial(), payer=MEDICARE_ADVANTAGE.model_dump())
    [finding] = _findings(claim, "TRIAL-MA-PLAN", payer=ma)
    assert finding.severity is Severity.ERROR and finding.fix is None
    assert _findings(_trial(), "TRIAL-MA-PLAN") == []  # sent to traditional Medicare
    no_trial = _rebuild(make_claim(), payer=MEDICARE_ADVANTAGE.model_dump())
    assert _findings(no_trial, "TRIAL-MA-PLAN", payer=ma) == []


# --- prior authorization ------------------------------------------------------------------------------------


def _folfox(**overrides: Any) -> Claim:
    return make_claim("office_folfox_bev_dependent", **overrides)


def _auth(**fields: Any) -> list[Authorization]:
    return [sample_authorizations()[0].model_copy(update=fields)]


def _auth_ids(claim: Claim, auths: list[Authorization], **context: Any) -> list[tuple[str, tuple[int, ...]]]:
    context.setdefault("payer", PINNACLE)
    found = audit_claim(claim, authorizations=auths, **context)
    return [(f.rule_id, f.lines) for f in found if f.rule_id.startswith("AUTH-")]


def test_valid_authorization_passes() -> None:
    assert _auth_ids(_folfox(), sample_authorizations()) == []


def test_no_authorization_on_file() -> None:
    # bevacizumab (targeted) needs one from this payer; oxaliplatin (chemotherapy) does not
    assert _auth_ids(_folfox(prior_authorization=None), []) == [("AUTH-MISSING", (9,))]
    assert _auth_ids(_folfox(), [], payer=None) == []  # payer unknown: nothing to check against


def test_authorization_expiry_edge() -> None:
    assert _auth_ids(_folfox(), _auth(end_date=dt.date(2026, 2, 3))) == []
    assert _auth_ids(_folfox(), _auth(end_date=dt.date(2026, 2, 2))) == [("AUTH-EXPIRED", (9,))]
    assert _auth_ids(_folfox(), _auth(start_date=dt.date(2026, 2, 4), end_date=dt.date(2026, 8, 1))) == [
        ("AUTH-EXPIRED", (9,))
    ]


def test_pending_authorization() -> None:
    pending = {"status": AuthorizationStatus.PENDING, "requested_date": dt.date(2026, 1, 5)}
    late = _auth(decided_date=dt.date(2026, 2, 4), **pending)
    assert _auth_ids(_folfox(), late) == [("AUTH-NOT-APPROVED", (9,))]
    assert _auth_ids(_folfox(), _auth(decided_date=dt.date(2026, 2, 3), **pending)) == []
    denied = _auth(status=AuthorizationStatus.DENIED)
    assert _auth_ids(_folfox(), denied) == [("AUTH-NOT-APPROVED", (9,))]


def test_authorization_for_another_code() -> None:
    assert _auth_ids(_folfox(), _auth(approved_codes=["Q5107", "J9263"])) == [("AUTH-OTHER-CODE", (9,))]


def test_authorization_units_used_up_counting_earlier_claims() -> None:
    # the authorization covers oxaliplatin (300 units) and bevacizumab (40 units): both draw on it
    assert _auth_ids(_folfox(), _auth(approved_units=Decimal(340))) == []  # 340 of 340
    assert _auth_ids(_folfox(), _auth(approved_units=Decimal(339))) == [("AUTH-UNITS-EXHAUSTED", (9,))]
    earlier = _on(_folfox(claim_id="FOLFOX0000"), dt.date(2026, 1, 20))
    auths = _auth(approved_units=Decimal(680))
    assert _auth_ids(_folfox(), auths, submitted=[earlier]) == []  # 680 of 680
    assert _auth_ids(_folfox(), auths, submitted=[earlier, earlier]) == []  # one claim counted once
    tight = _auth(approved_units=Decimal(679))
    assert _auth_ids(_folfox(), tight, submitted=[earlier]) == [("AUTH-UNITS-EXHAUSTED", (9,))]


def test_authorization_number_missing_is_attached_at_claim_level() -> None:
    claim = _folfox(prior_authorization=None)
    [finding] = _findings(
        claim, "AUTH-NUMBER-MISSING", payer=PINNACLE, authorizations=sample_authorizations()
    )
    assert finding.fix is not None and finding.fix.action is FixAction.ATTACH_AUTHORIZATION
    assert (finding.fix.line, finding.fix.value) == (None, "NCA55501")
    fixed = _fixed(claim, finding, payer=PINNACLE, authorizations=sample_authorizations())
    assert fixed.prior_authorization == "NCA55501"


def test_wrong_authorization_number_is_replaced() -> None:
    claim = _folfox(prior_authorization="NCA55599")
    [finding] = _findings(claim, "AUTH-NUMBER-WRONG", payer=PINNACLE, authorizations=sample_authorizations())
    assert "matches no authorization on file" in finding.message
    assert finding.fix is not None and finding.fix.value == "NCA55501"
    _fixed(claim, finding, payer=PINNACLE, authorizations=sample_authorizations())


def test_active_authorization_missing_on_a_claim_that_needs_none_is_a_warning() -> None:
    oxaliplatin_only = _rebuild(_folfox(prior_authorization=None), [_folfox().lines[0], _folfox().lines[7]])
    [finding] = _findings(
        oxaliplatin_only, "AUTH-NUMBER-MISSING", payer=PINNACLE, authorizations=sample_authorizations()
    )
    assert finding.severity is Severity.WARNING and finding.fix is not None
    _fixed(oxaliplatin_only, finding, payer=PINNACLE, authorizations=sample_authorizations())


def test_prior_authorization_policy_effective_date() -> None:
    evergreen = PAYERS["commercial_evergreen"]  # adds growth factors to its prior-auth list on 2024-07-01
    lines = [make_line(1, "96372", "1", "60.00"), make_line(2, "J2506", "12", "5000.00", modifiers=["JZ"])]
    claim = _rebuild(make_claim(), lines, payer=_payer(evergreen), diagnoses=[{"code": "C50.911"}])
    assert _auth_ids(_on(claim, dt.date(2024, 6, 30)), [], payer=evergreen) == []
    assert _auth_ids(_on(claim, dt.date(2024, 7, 1)), [], payer=evergreen) == [("AUTH-MISSING", (2,))]


# --- medical necessity and diagnosis coding -----------------------------------------------------------------


def test_diagnosis_outside_the_label_families() -> None:
    claim = _rebuild(make_claim(), diagnoses=[{"code": "Z51.11"}, {"code": "C61"}])
    findings = _findings(claim, "NECESSITY-DX-NOT-COVERED")
    assert {f.lines for f in findings} == {(6,), (7,), (8,)}  # pembrolizumab, pemetrexed, carboplatin
    assert all(f.severity is Severity.ERROR and f.fix is None for f in findings)
    assert _findings(make_claim(), "NECESSITY-DX-NOT-COVERED") == []


def test_payer_coverage_list_and_its_effective_date() -> None:
    keystone = PAYERS["commercial_keystone"]  # restricts bevacizumab to its own list from 2024-10-01
    lines = [make_line(1, "96413", "1", "300.00"), make_line(2, "J9035", "40", "4400.00", modifiers=["JZ"])]
    claim = _rebuild(
        make_claim(), lines, payer=_payer(keystone), diagnoses=[{"code": "Z51.11"}, {"code": "C56.9"}]
    )
    assert _findings(_on(claim, dt.date(2024, 9, 30)), "NECESSITY-DX-NOT-COVERED", payer=keystone) == []
    [finding] = _findings(_on(claim, dt.date(2024, 10, 1)), "NECESSITY-DX-NOT-COVERED", payer=keystone)
    assert "payer's coverage policy" in finding.message


def test_z51_not_first_is_moved_first() -> None:
    claim = _rebuild(make_claim(), diagnoses=[{"code": "C34.90"}, {"code": "Z51.11"}])
    [finding] = _findings(claim, "DX-Z51-NOT-FIRST")
    assert finding.severity is Severity.WARNING and finding.fix is not None
    assert finding.fix.action is FixAction.SET_PRINCIPAL_DIAGNOSIS and finding.fix.value == "Z51.11"
    assert _fixed(claim, finding).diagnosis_codes == ["Z51.11", "C34.90"]


def test_z51_missing_on_an_immunotherapy_encounter_adds_z5112() -> None:
    lines = [make_line(1, "96413", "1", "300.00"), make_line(2, "J9271", "200", "14000.00", modifiers=["JZ"])]
    claim = _rebuild(make_claim(), lines, diagnoses=[{"code": "C34.90"}])
    [finding] = _findings(claim, "DX-Z51-NOT-FIRST")
    assert finding.fix is not None and finding.fix.value == "Z51.12"
    assert _fixed(claim, finding).diagnosis_codes == ["Z51.12", "C34.90"]
    non_cancer = _rebuild(
        claim, diagnoses=[{"code": "M05.79"}]
    )  # rituximab-like use for a non-cancer condition
    assert _findings(non_cancer, "DX-Z51-NOT-FIRST") == []


def test_z51_without_a_cancer_diagnosis() -> None:
    lines = [line.model_copy(update={"diagnosis_pointers": [1]}) for line in make_claim().lines]
    claim = _rebuild(make_claim(), lines, diagnoses=[{"code": "Z51.11"}])
    [finding] = _findings(claim, "DX-Z51-ONLY")
    assert finding.severity is Severity.ERROR and finding.fix is None
    assert _findings(make_claim(), "DX-Z51-ONLY") == []
    in_situ = _rebuild(claim, diagnoses=[{"code": "Z51.11"}, {"code": "D05.11"}])
    assert _findings(in_situ, "DX-Z51-ONLY") == []


def test_diagnosis_that_is_a_category_not_a_billable_code() -> None:
    claim = _rebuild(make_claim(), diagnoses=[{"code": "Z51.11"}, {"code": "C34.9"}])
    [finding] = _findings(claim, "DX-ICD10-HEADER")
    assert "C34.9" in finding.message and finding.severity is Severity.ERROR and 6 in finding.lines
    assert _findings(make_claim(), "DX-ICD10-HEADER") == []


# --- timely filing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [(335, []), (336, ["TIMELY-FILING-NEAR"]), (365, ["TIMELY-FILING-NEAR"]), (366, ["TIMELY-FILING-LATE"])],
)
def test_timely_filing_edges(days: int, expected: list[str]) -> None:
    claim = make_claim().model_copy(
        update={"submission_date": make_claim().service_from + dt.timedelta(days=days)}
    )
    found = [f.rule_id for f in audit_claim(claim, payer=MEDICARE_POLICY) if f.rule_id.startswith("TIMELY-")]
    assert found == expected
    # without a payer policy Medicare's 12 months apply; without a submission date, the audit date
    undated = make_claim().model_copy(update={"submission_date": None})
    today = make_claim().service_from + dt.timedelta(days=days)
    assert [
        f.rule_id for f in audit_claim(undated, today=today) if f.rule_id.startswith("TIMELY-")
    ] == expected


def test_timely_filing_uses_the_payers_limit() -> None:
    keystone = PAYERS["commercial_keystone"]  # 90 days
    claim = make_claim().model_copy(
        update={"submission_date": make_claim().service_from + dt.timedelta(days=91)}
    )
    assert _findings(claim, "TIMELY-FILING-LATE", payer=keystone)
    assert _findings(claim, "TIMELY-FILING-LATE") == []  # Medicare: 365 days


# --- duplicates ---------------------------------------------------------------------------------------------


def test_duplicate_claim() -> None:
    first = make_claim()
    again = make_claim().model_copy(update={"submission_date": dt.date(2026, 2, 20)})
    [finding] = _findings(again, "DUP-CLAIM", submitted=[first])
    assert finding.severity is Severity.ERROR and finding.fix is None
    renamed = again.model_copy(update={"claim_id": "NSCLC0002"})
    assert _findings(renamed, "DUP-CLAIM", submitted=[first])  # same services, same date
    corrected = again.model_copy(update={"frequency_code": "7"})
    assert _findings(corrected, "DUP-CLAIM", submitted=[first]) == []
    next_cycle = _on(make_claim(claim_id="NSCLC0003"), dt.date(2026, 2, 24))
    assert _findings(next_cycle, "DUP-CLAIM", submitted=[first]) == []
    assert _findings(first, "DUP-CLAIM", submitted=[first]) == []  # the claim itself is not a duplicate


def test_line_already_billed_on_an_earlier_claim_is_removed() -> None:
    earlier = _rebuild(make_claim(claim_id="NSCLC0000"), [make_claim().lines[8]])  # palonosetron, same day
    [finding] = _findings(make_claim(), "DUP-LINE-SUBMITTED", submitted=[earlier])
    assert finding.lines == (9,) and finding.fix is not None and finding.fix.action is FixAction.REMOVE_LINE
    assert len(_fixed(make_claim(), finding, submitted=[earlier]).lines) == 10
    other_patient = _rebuild(
        earlier, patient=dict(make_claim().patient.model_dump(), member_id="9ZZ9ZZ9ZZ99")
    )
    assert _findings(make_claim(), "DUP-LINE-SUBMITTED", submitted=[other_patient]) == []


def test_same_line_twice_on_one_claim() -> None:
    copy = make_claim().lines[9].model_copy(update={"line_number": 12})
    claim = _rebuild(make_claim(), [*make_claim().lines, copy])
    [finding] = _findings(claim, "DUP-LINE-REPEATED")
    assert finding.severity is Severity.WARNING and finding.lines == (10, 12)
    assert finding.fix is not None and finding.fix.line == 12
    _fixed(claim, finding)
    repeated = _rebuild(
        make_claim(), [*make_claim().lines, copy.model_copy(update={"modifiers": ["JZ", "76"]})]
    )
    assert _findings(repeated, "DUP-LINE-REPEATED") == []


# --- code validity ------------------------------------------------------------------------------------------


def test_administration_or_em_code_that_is_not_billable() -> None:
    def with_code(code: str, day: dt.date = dt.date(2026, 2, 3)) -> Claim:
        return _on(_rebuild(make_claim(), [make_line(1, code, "1", "100.00")]), day)

    [finding] = _findings(with_code("96414"), "CODE-NOT-BILLABLE")
    assert finding.severity is Severity.WARNING
    for code in ("96413", "96450", "96549", "99214", "G0463", "J9271"):
        assert _findings(with_code(code), "CODE-NOT-BILLABLE") == [], code
    assert _findings(with_code("99201", dt.date(2020, 12, 31)), "CODE-NOT-BILLABLE") == []
    assert _findings(with_code("99201", dt.date(2021, 1, 1)), "CODE-NOT-BILLABLE")


# --- against the simulator ------------------------------------------------------------------------------------

#: injected error type -> the rule id prefixes meant to catch it
CATCHES = {
    "second_initial": ("ADMIN-SECOND-INITIAL",),
    "addon_without_primary": ("ADMIN-ADDON",),
    "missing_modifier_25": ("MOD25-",),
    "missing_trial_element": ("TRIAL-",),
    "diagnosis_not_covered": ("NECESSITY-",),
    "auth_number_missing": ("AUTH-",),
    "late_submission": ("TIMELY-FILING-LATE",),
    "duplicate_submission": ("DUP-CLAIM",),
}


def _outside_families(claim: Claim, payer: PayerPolicy) -> bool:
    """The claim's diagnoses miss the coverage list of one of its drugs (the payer's, else the label's)."""
    drugs = load_drugs()
    dx = [code.replace(".", "") for code in claim.diagnosis_codes]
    for line in claim.lines:
        drug = drugs.get(line.procedure_code)
        if drug is None or "JW" in line.modifiers:
            continue
        own = payer.covered_prefixes(line.procedure_code, line.service_date)
        families = own if own is not None else (drug.icd10_families if drug.complex_administration else ())
        if families and not any(d.startswith(f) for d in dx for f in families):
            return True
    return False


@pytest.mark.slow
def test_recall_and_false_positives_against_the_simulator() -> None:
    result = simulate_practice(SimulationConfig(claims=3000, seed=3))
    ours = {r.id for r in (*administration.RULES, *coverage.RULES)}
    auth_rules = {r.id for r in coverage.AUTH_RULES}
    payers = {p.payer_id: p for p in PAYERS.values()}
    auths: dict[tuple[str, str], list[Authorization]] = defaultdict(list)
    for auth in result.authorizations:
        auths[(auth.payer_id, auth.member_id)].append(auth)
    earlier: dict[str, list[Claim]] = defaultdict(list)
    findings: list[list[Finding]] = []
    for claim in result.claims:  # in submission order
        member = claim.patient.member_id
        found = audit_claim(
            claim,
            payer=payers[claim.payer.payer_id],
            authorizations=auths[(claim.payer.payer_id, member)],
            submitted=list(earlier[member]),
        )
        findings.append([f for f in found if f.rule_id in ours])
        earlier[member].append(claim)
    errors: dict[int, list[tuple[int | None, str]]] = defaultdict(list)
    for index, line, kind in result.errors:
        errors[index].append((line, kind))
    recall: dict[str, tuple[int, int]] = {}
    for kind, prefixes in CATCHES.items():
        total = caught = 0
        for index, claim_errors in errors.items():
            claim = result.claims[index]
            for line, error_kind in claim_errors:
                if error_kind != kind:
                    continue
                if kind == "diagnosis_not_covered" and not _outside_families(
                    claim, payers[claim.payer.payer_id]
                ):
                    continue  # the replacement diagnosis is still covered for every drug on the claim
                total += 1
                hits = [f for f in findings[index] if f.rule_id.startswith(prefixes)]
                caught += bool(hits) if line is None else any(line in f.lines or not f.lines for f in hits)
        recall[kind] = (caught, total)
    # Claims whose course had an authorization problem (the simulator's truth) are real problems, not clean.
    auth_problem = {t.claim_index for t in result.truth if t.category is DenialCategory.AUTHORIZATION}
    clean = [i for i in range(len(result.claims)) if i not in errors and i not in auth_problem]

    def flagged(rules: set[str], inside: bool) -> list[int]:
        return [
            i
            for i in clean
            if any(f.severity is Severity.ERROR and (f.rule_id in rules) == inside for f in findings[i])
        ]

    false_positive = flagged(auth_rules, inside=False)
    false_positive_auth = flagged(auth_rules, inside=True)
    auth_caught = sum(any(f.rule_id in auth_rules for f in findings[i]) for i in auth_problem)
    report = {
        "recall": {k: f"{c}/{t} = {c / t:.3f}" for k, (c, t) in recall.items()},
        "clean_claims": len(clean),
        "false_positive_rate": len(false_positive) / len(clean),
        "false_positive_rate_auth_rules": len(false_positive_auth) / len(clean),
        "auth_problem_claims_flagged": f"{auth_caught}/{len(auth_problem)}",
        "false_positive_rules": Counter(
            f.rule_id
            for i in false_positive + false_positive_auth
            for f in findings[i]
            if f.severity is Severity.ERROR
        ),
    }
    print(report)
    for kind, (caught, total) in recall.items():
        assert total >= 5, kind  # the run injects enough of each error type to measure it
        assert caught / total >= 0.95, (kind, caught, total)
    assert len(false_positive) / len(clean) <= 0.01, report
    assert len(false_positive_auth) / len(clean) <= 0.01, report
    assert PlanType.MEDICARE in {c.payer.plan_type for c in result.claims}
