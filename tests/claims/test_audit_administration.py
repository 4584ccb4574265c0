"""Administration and modifier-25 rules: claims that must and must not trigger each rule, and their fixes."""

from __future__ import annotations

from typing import Any

import pytest

from claims.audit import FixAction, Severity, audit_claim
from claims.audit.rules import administration
from claims.model import Claim, ClaimLine
from claims.policy import load_payers
from claims.samples import COMMERCIAL, MEDICARE, make_claim, make_line
from tests.claims.audit_checks import findings_of as _findings
from tests.claims.audit_checks import fix_cleanly as _fixed

MEDICARE_POLICY = load_payers()["medicare_mac"]


def _with_lines(claim: Claim, lines: list[ClaimLine], **overrides: Any) -> Claim:
    data = claim.model_dump()
    data["lines"] = [line.model_dump() for line in lines]
    data.update(overrides)
    return Claim.model_validate(data)


def _replace(claim: Claim, number: int, **fields: Any) -> Claim:
    """The claim with line ``number`` changed."""
    return _with_lines(
        claim,
        [line.model_copy(update=fields) if line.line_number == number else line for line in claim.lines],
    )


def _without(claim: Claim, *numbers: int) -> Claim:
    return _with_lines(claim, [line for line in claim.lines if line.line_number not in numbers])


def _pembro_claim(*admin: tuple[str, str], payer: Any = MEDICARE) -> Claim:
    """Pembrolizumab with the given administration lines (code, units)."""
    lines = [make_line(i, code, units, "100.00") for i, (code, units) in enumerate(admin, start=1)]
    lines.append(
        make_line(len(lines) + 1, "J9271", "200", "14000.00", modifiers=["JZ"], diagnosis_pointers=[1, 2])
    )
    return _with_lines(make_claim(), lines, payer=payer.model_dump())


def test_the_worked_example_is_clean() -> None:
    ids = {r.id for r in administration.RULES}
    assert [f for f in audit_claim(make_claim(), payer=MEDICARE_POLICY) if f.rule_id in ids] == []


# --- ADMIN-CHEMO-CODE -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), [("96365", "96413"), ("96374", "96409"), ("96372", "96401")])
def test_complex_drug_with_non_chemo_code_is_fixed_to_the_chemo_code(code: str, expected: str) -> None:
    claim = _pembro_claim((code, "1"))
    [finding] = _findings(claim, "ADMIN-CHEMO-CODE")
    assert finding.severity is Severity.ERROR and 2 in finding.lines and "J9271" in finding.message
    assert finding.fix is not None and finding.fix.action is FixAction.SET_PROCEDURE_CODE
    assert (finding.fix.line, finding.fix.value) == (1, expected)
    assert _fixed(claim, finding).lines[0].procedure_code == expected


def test_hormonal_drug_injection_is_fixed_to_96402() -> None:
    lines = [make_line(1, "96372", "1", "50.00"), make_line(2, "J9217", "1", "900.00")]
    claim = _with_lines(make_claim(), lines, diagnoses=[{"code": "C61"}])
    [finding] = _findings(claim, "ADMIN-CHEMO-CODE")
    assert finding.fix is not None and finding.fix.value == "96402"
    _fixed(claim, finding)


def test_complex_drug_without_any_administration_code() -> None:
    claim = _pembro_claim()
    [finding] = _findings(claim, "ADMIN-CHEMO-CODE")
    assert finding.fix is None and "no administration code" in finding.message
    facility = _pembro_claim().model_copy(update={"place_of_service": "22"})
    assert _findings(facility, "ADMIN-CHEMO-CODE") == []  # the hospital bills the administration


def test_chemo_code_rule_leaves_correct_or_supportive_claims_alone() -> None:
    assert _findings(_pembro_claim(("96413", "1")), "ADMIN-CHEMO-CODE") == []
    assert _findings(_pembro_claim(("96413", "1"), ("96375", "1")), "ADMIN-CHEMO-CODE") == []
    supportive = _with_lines(
        make_claim(),
        [make_line(1, "96374", "1", "80.00"), make_line(2, "J2469", "10", "60.00", modifiers=["JZ"])],
    )
    assert _findings(supportive, "ADMIN-CHEMO-CODE") == []
    # two non-chemo administration lines: the error stands but no single edit fixes it
    [finding] = _findings(_pembro_claim(("96365", "1"), ("96375", "1")), "ADMIN-CHEMO-CODE")
    assert finding.fix is None


# --- ADMIN-SECOND-INITIAL -------------------------------------------------------------------------------------


def test_second_initial_is_fixed_to_its_sequential_add_on() -> None:
    claim = _replace(make_claim(), 3, procedure_code="96413")  # carboplatin billed as a second 96413
    [finding] = _findings(claim, "ADMIN-SECOND-INITIAL")
    assert finding.lines == (3,) and finding.severity is Severity.ERROR
    assert finding.fix is not None and (finding.fix.line, finding.fix.value) == (3, "96417")
    assert _fixed(claim, finding).lines[2].procedure_code == "96417"


@pytest.mark.parametrize("modifier", ["59", "XE", "XS", "XU"])
def test_second_initial_with_a_distinct_modifier_passes(modifier: str) -> None:
    claim = _replace(make_claim(), 3, procedure_code="96413", modifiers=[modifier])
    assert _findings(claim, "ADMIN-SECOND-INITIAL") == []


def test_second_initial_follows_the_hierarchy_not_the_line_order() -> None:
    claim = _pembro_claim(("96365", "1"), ("96413", "1"))
    [finding] = _findings(claim, "ADMIN-SECOND-INITIAL")
    assert finding.lines == (1,) and finding.fix is not None and finding.fix.value == "96367"
    _fixed(claim, finding)


def test_second_initial_without_a_valid_add_on_has_no_fix() -> None:
    # 96361 may not follow a 96374 initial, so converting the hydration would orphan it
    lines = [make_line(1, "96374", "1", "80.00"), make_line(2, "96360", "1", "90.00")]
    [finding] = _findings(_with_lines(make_claim(), lines), "ADMIN-SECOND-INITIAL")
    assert finding.lines == (2,) and finding.fix is None


def test_initial_code_with_two_units() -> None:
    [finding] = _findings(_pembro_claim(("96413", "2")), "ADMIN-SECOND-INITIAL")
    assert finding.lines == (1,) and finding.fix is None
    assert _findings(_pembro_claim(("96413", "1")), "ADMIN-SECOND-INITIAL") == []


# --- ADMIN-ADDON-NO-PRIMARY ----------------------------------------------------------------------------------


def test_add_ons_without_their_initial_are_fixed_by_restoring_the_initial() -> None:
    claim = _without(make_claim(), 1)  # 96413 dropped: 96411, 96417, 96375 and 96367 have no primary
    findings = _findings(claim, "ADMIN-ADDON-NO-PRIMARY")
    assert {f.lines for f in findings} == {(2,), (3,), (4,), (5,)}
    for finding in findings:
        assert finding.fix is not None and (finding.fix.line, finding.fix.value) == (3, "96413")
        fixed = _fixed(claim, finding)
        assert _findings(fixed, "ADMIN-ADDON-NO-PRIMARY") == []


def test_an_add_on_whose_primary_is_itself_orphaned_is_flagged() -> None:
    claim = _pembro_claim(("96415", "2"), ("96417", "1"))
    findings = _findings(claim, "ADMIN-ADDON-NO-PRIMARY")
    assert {f.lines for f in findings} == {(1,), (2,)}
    assert "itself billed without a primary" in next(f for f in findings if f.lines == (1,)).message
    for finding in findings:
        _fixed(claim, finding)


def test_add_on_fix_needs_exactly_one_add_on_of_the_family() -> None:
    claim = _pembro_claim(("96417", "1"), ("96417", "1"))
    assert all(f.fix is None for f in _findings(claim, "ADMIN-ADDON-NO-PRIMARY"))
    two_units = _pembro_claim(("96417", "2"))
    assert all(f.fix is None for f in _findings(two_units, "ADMIN-ADDON-NO-PRIMARY"))
    # a chemo encounter that lost its chemo initial is not fixed by turning the premedication into the initial
    premed = _pembro_claim(("96375", "1"))
    [finding] = _findings(premed, "ADMIN-ADDON-NO-PRIMARY")
    assert finding.fix is None


def test_add_on_with_its_primary_passes() -> None:
    assert _findings(make_claim(), "ADMIN-ADDON-NO-PRIMARY") == []
    assert (
        _findings(_pembro_claim(("96413", "1"), ("96415", "3"), ("96368", "1")), "ADMIN-ADDON-NO-PRIMARY")
        == []
    )


# --- ADMIN-ADDL-HOURS / ADMIN-HYDRATION-CONCURRENT ----------------------------------------------------------------


def test_additional_hours_above_plausible() -> None:
    [finding] = _findings(_pembro_claim(("96413", "1"), ("96415", "9")), "ADMIN-ADDL-HOURS")
    assert finding.severity is Severity.WARNING and "9 additional hours" in finding.message
    assert _findings(_pembro_claim(("96413", "1"), ("96415", "8")), "ADMIN-ADDL-HOURS") == []


def test_additional_hours_without_their_family_are_left_to_the_add_on_rule() -> None:
    claim = _pembro_claim(("96409", "1"), ("96415", "1"))
    assert _findings(claim, "ADMIN-ADDL-HOURS") == []
    assert [f.lines for f in _findings(claim, "ADMIN-ADDON-NO-PRIMARY")] == [(2,)]


def test_hydration_with_a_concurrent_infusion() -> None:
    claim = _pembro_claim(("96413", "1"), ("96368", "1"), ("96361", "1"))
    [finding] = _findings(claim, "ADMIN-HYDRATION-CONCURRENT")
    assert finding.severity is Severity.WARNING and finding.lines == (3,)
    assert _findings(_pembro_claim(("96413", "1"), ("96361", "1")), "ADMIN-HYDRATION-CONCURRENT") == []


# --- ADMIN-99211-MEDICARE --------------------------------------------------------------------------------------


def test_99211_with_drug_administration_for_medicare() -> None:
    claim = _with_lines(make_claim(), [*make_claim().lines, make_line(12, "99211", "1", "30.00")])
    [finding] = _findings(claim, "ADMIN-99211-MEDICARE")
    assert finding.severity is Severity.ERROR and finding.fix is not None
    assert finding.fix.action is FixAction.REMOVE_LINE and finding.fix.line == 12
    assert len(_fixed(claim, finding).lines) == 11
    commercial = claim.model_copy(update={"payer": COMMERCIAL})
    assert _findings(commercial, "ADMIN-99211-MEDICARE", payer=load_payers()["commercial_pinnacle"]) == []
    visit_only = _with_lines(make_claim(), [make_line(1, "99211", "1", "30.00")])
    assert _findings(visit_only, "ADMIN-99211-MEDICARE") == []


# --- MOD25-MISSING --------------------------------------------------------------------------------------------


def test_em_without_modifier_25_on_an_infusion_day() -> None:
    folfox = make_claim("office_folfox_bev_dependent")
    pinnacle = load_payers()["commercial_pinnacle"]
    assert _findings(folfox, "MOD25-MISSING", payer=pinnacle) == []
    claim = _replace(folfox, 10, modifiers=[])
    [finding] = _findings(claim, "MOD25-MISSING", payer=pinnacle)
    assert finding.lines == (10,) and finding.severity is Severity.ERROR and "99214" in finding.message
    assert finding.fix is not None and (finding.fix.action, finding.fix.value) == (
        FixAction.ADD_MODIFIER,
        "25",
    )
    assert _fixed(claim, finding, payer=pinnacle).lines[9].modifiers == ["25"]


@pytest.mark.parametrize("code", ["99212", "99213", "99215", "G0463"])
def test_every_same_day_em_code_needs_25(code: str) -> None:
    claim = _pembro_claim(("96413", "1"))
    claim = _with_lines(claim, [*claim.lines, make_line(3, code, "1", "200.00")])
    [finding] = _findings(claim, "MOD25-MISSING")
    _fixed(claim, finding)


def test_em_without_administration_or_with_full_modifiers() -> None:
    visit = _with_lines(make_claim(), [make_line(1, "99214", "1", "200.00")])
    assert _findings(visit, "MOD25-MISSING") == []
    full = _pembro_claim(("96413", "1"))
    full = _with_lines(
        full, [*full.lines, make_line(3, "99214", "1", "200.00", modifiers=["GC", "Q1", "GA", "KX"])]
    )
    [finding] = _findings(full, "MOD25-MISSING")
    assert finding.fix is None  # four modifiers already: the biller decides which one goes
