"""Domain validation: invalid values give errors that name the field path and say what was expected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from claims.codes import format_icd10, icd10_status, is_hcpcs, npi_check_digit, npi_is_valid
from claims.model import Authorization, Claim
from claims.samples import make_claim, make_line


def _error(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    first = exc.value.errors()[0]
    return ".".join(str(p) for p in first["loc"]), first["msg"]


def test_sample_claims_are_valid() -> None:
    claim = make_claim()
    assert claim.total_charge == sum(line.charge for line in claim.lines)
    assert claim.diagnosis_codes == ["Z51.11", "C34.90"]


def test_unknown_icd10_code_names_the_field() -> None:
    with pytest.raises(ValidationError) as exc:
        make_claim(diagnoses=[{"code": "Z51.11"}, {"code": "C34.99X"}])
    path, msg = _error(exc)
    assert path == "diagnoses.1.code"
    assert "not an ICD-10-CM code" in msg


def test_icd10_codes_are_stored_dotted_whatever_the_input() -> None:
    claim = make_claim(diagnoses=[{"code": "z5111"}, {"code": "C3490"}])
    assert claim.diagnosis_codes == ["Z51.11", "C34.90"]
    assert icd10_status("C34") == "header"  # valid category, not billable: the audit flags it
    assert icd10_status("C34.90") == "billable"
    assert format_icd10("C50911") == "C50.911"


@pytest.mark.parametrize(
    ("field", "value", "expected_path", "expected_text"),
    [
        ("units", Decimal("-1"), "lines.0.units", "greater than 0"),
        ("units", Decimal("0"), "lines.0.units", "greater than 0"),
        ("procedure_code", "J92", "lines.0.procedure_code", "HCPCS"),
        ("modifiers", ["JZZ"], "lines.0.modifiers.0", "two-character modifier"),
        ("ndc", "1234", "lines.0.ndc", "11-digit NDC"),
    ],
)
def test_invalid_line_values_name_the_field(
    field: str, value: object, expected_path: str, expected_text: str
) -> None:
    claim = make_claim().model_dump()
    claim["lines"][0][field] = value
    with pytest.raises(ValidationError) as exc:
        Claim.model_validate(claim)
    path, msg = _error(exc)
    assert path == expected_path
    assert expected_text in msg


def test_service_after_submission_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        make_claim(submission_date=dt.date(2026, 1, 1))
    assert "after the submission_date" in _error(exc)[1]


def test_diagnosis_pointer_past_the_diagnoses_is_rejected() -> None:
    claim = make_claim().model_dump()
    claim["lines"][0]["diagnosis_pointers"] = [3]
    with pytest.raises(ValidationError) as exc:
        Claim.model_validate(claim)
    assert "points past the 2 diagnoses" in _error(exc)[1]


def test_institutional_claim_needs_type_of_bill_and_revenue_codes() -> None:
    claim = make_claim("hospital_outpatient_trial").model_dump()
    claim["lines"][0]["revenue_code"] = None
    with pytest.raises(ValidationError) as exc:
        Claim.model_validate(claim)
    assert "needs revenue_code" in _error(exc)[1]


def test_ndc_needs_quantity_and_unit() -> None:
    with pytest.raises(ValidationError) as exc:
        make_line(1, "J9271", "200", "100.00", ndc="00006302602")
    assert "quantity and unit" in _error(exc)[1]


def test_authorization_dates_in_order() -> None:
    with pytest.raises(ValidationError) as exc:
        Authorization(
            number="A1",
            payer_id="P",
            member_id="M",
            approved_codes=["J9271"],
            start_date=dt.date(2026, 3, 1),
            end_date=dt.date(2026, 2, 1),
        )
    assert "end_date must not be before start_date" in _error(exc)[1]


def test_authorization_covers_code_and_window() -> None:
    auth = Authorization(
        number="A1",
        payer_id="P",
        member_id="M",
        approved_codes=["J9271"],
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 6, 30),
    )
    assert auth.covers("J9271", dt.date(2026, 2, 3))
    assert not auth.covers("J9271", dt.date(2026, 7, 1))
    assert not auth.covers("Q5107", dt.date(2026, 2, 3))


def test_npi_check_digit() -> None:
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("12345")
    assert npi_is_valid("160987654" + npi_check_digit("160987654"))


def test_hcpcs_format() -> None:
    assert all(is_hcpcs(c) for c in ("J9271", "96413", "Q5107", "0001F", "G0463"))
    assert not any(is_hcpcs(c) for c in ("J927", "969", "ZZ9999", "j9271 "))


def test_patient_phi_is_not_in_the_repr() -> None:
    claim = make_claim()
    text = repr(claim)
    assert claim.patient.member_id not in text
    assert claim.patient.last_name not in text
    assert str(claim.patient.birth_date) not in text
