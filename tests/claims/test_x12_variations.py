"""Real-world variations that a clearinghouse accepts, and broken files that must give one-line errors.

The files live in tests/data/x12/variations (made by tests/data/x12/make_variations.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.enums import ClaimForm
from claims.errors import UnsupportedVersionError, X12Error
from claims.samples import make_claim
from claims.x12 import read_x12

REFERENCE = make_claim()


@pytest.mark.parametrize(
    "name",
    [
        "bom.837p",
        "crlf.837p",
        "indented.837p",
        "cr_terminator.837p",
        "newline_terminator.837p",
        "custom_delimiters.837p",
    ],
)
def test_formatting_variations_read_like_the_clean_file(name: str, variations_dir: Path) -> None:
    doc = read_x12(variations_dir / name)
    assert doc.errors == []
    assert doc.claims == [REFERENCE]


def test_several_interchanges_in_one_file(variations_dir: Path) -> None:
    doc = read_x12(variations_dir / "two_interchanges.837")
    assert doc.errors == []
    assert [c.form for c in doc.claims] == [ClaimForm.PROFESSIONAL, ClaimForm.INSTITUTIONAL]


def test_several_groups_in_one_interchange(variations_dir: Path) -> None:
    doc = read_x12(variations_dir / "two_groups.837")
    assert doc.errors == [] and doc.transactions == 2
    assert sorted(c.claim_id for c in doc.claims) == ["FOLFOX0001", "HOPD0001", "NSCLC0001"]


def test_subscriber_hl_that_promises_dependents_it_does_not_have(variations_dir: Path) -> None:
    doc = read_x12(variations_dir / "hl_child_code_quirk.837p")
    assert doc.errors == []
    by_id = {c.claim_id: c for c in doc.claims}
    # The first subscriber is the patient; x12sdk alone would file the next claims under the wrong patient.
    assert by_id["NSCLC0001"].subscriber is None
    assert by_id["FOLFOX0001"].subscriber is not None
    assert by_id["FOLFOX0001"].patient.first_name == "DEP"


def test_claims_at_both_hierarchy_depths(golden_dir: Path) -> None:
    subscriber = read_x12(golden_dir / "office_nsclc_carbo_pem_pembro.837p").claims[0]
    dependent = read_x12(golden_dir / "office_folfox_bev_dependent.837p").claims[0]
    assert subscriber.subscriber is None and dependent.subscriber is not None


def _only_error(path: Path) -> X12Error:
    doc = read_x12(path)
    assert doc.errors, f"{path.name} should not read cleanly"
    error = doc.errors[0]
    assert isinstance(error, X12Error)
    assert "\n" not in error.one_line()
    assert error.one_line().startswith(str(path))
    return error


@pytest.mark.parametrize(
    ("name", "segment_index", "text"),
    [
        ("empty.837p", 1, "empty"),
        ("binary.bin", 1, "binary"),
        ("not_x12.txt", 1, "not an X12 interchange"),
        ("truncated.837p", None, "truncated"),
        ("missing_required_segment.837p", 33, "SV1: Field required"),
        ("wrong_se_count.837p", 81, "SE01 says 979 segments but the transaction has 79"),
        ("wrong_ge_count.837p", 82, "GE01 says 2 transactions but the group has 1"),
        ("negative_units.837p", 30, "greater than 0"),
        ("invalid_icd10.837p", 22, "diagnoses.1.code: 'C34.99X' is not an ICD-10-CM code"),
    ],
)
def test_broken_files_give_a_positioned_one_line_error(
    name: str, segment_index: int | None, text: str, variations_dir: Path
) -> None:
    error = _only_error(variations_dir / name)
    assert text in error.one_line()
    if segment_index is not None:
        assert error.segment_index == segment_index


def test_version_4010_is_refused_clearly(variations_dir: Path) -> None:
    error = _only_error(variations_dir / "version_4010.837p")
    assert isinstance(error, UnsupportedVersionError)
    assert "unsupported version 004010" in error.one_line()


def test_one_bad_claim_does_not_cost_the_others(variations_dir: Path) -> None:
    doc = read_x12(variations_dir / "one_bad_claim.837p")
    assert [c.claim_id for c in doc.claims] == ["NSCLC0001"]
    assert len(doc.errors) == 1 and doc.errors[0].segment_id == "CLM"
    assert "claim 2 of transaction 0001" in doc.errors[0].one_line()


def test_a_claim_x12sdk_rejects_is_reported_and_the_rest_kept() -> None:
    import datetime as dt

    from claims.samples import SCENARIOS
    from claims.x12 import write_837

    claims = [SCENARIOS["office_nsclc_carbo_pem_pembro"](), SCENARIOS["office_folfox_bev_dependent"]()]
    text = write_837(claims, created=dt.datetime(2026, 2, 5, 12, 0))
    text = text.replace("SV1*HC:96411*180.00*UN*1*", "SV1*HC:96411*180.00*UN*-1*", 1)
    doc = read_x12(text)
    assert [c.claim_id for c in doc.claims] == ["FOLFOX0001"]
    assert len(doc.errors) == 1 and doc.errors[0].segment_id == "SV1"


def test_remittance_without_control_numbers_still_reads(variations_dir: Path) -> None:
    doc = read_x12(variations_dir / "remit_without_control_numbers.835")
    assert doc.errors == []
    assert all(line.control_number is None for r in doc.remittances for c in r.claims for line in c.lines)


def test_remittance_with_a_claim_level_denial(variations_dir: Path) -> None:
    doc = read_x12(variations_dir / "remit_claim_level_denial.835")
    assert doc.errors == []
    folfox = next(c for r in doc.remittances for c in r.claims if c.claim_id == "FOLFOX0001")
    assert folfox.status_code == "4" and folfox.lines == []
    assert [(a.group.value, a.reason_code) for a in folfox.adjustments] == [("CO", "29")]


def test_errors_do_not_echo_the_file(variations_dir: Path) -> None:
    """A stray document (a patient statement) is refused without repeating its text in the error."""
    error = _only_error(variations_dir / "not_x12.txt")
    assert "Patient statement" not in error.one_line()
