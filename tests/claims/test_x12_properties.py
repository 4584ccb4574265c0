"""Property test: any valid claim written as X12 reads back as the same claim."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.enums import ClaimForm, NdcUnit, PlanType
from claims.samples import make_claim
from claims.x12 import read_x12, write_837

ICD = ["C34.90", "C50.911", "C18.7", "C61", "C83.30", "C90.00", "Z51.11", "Z51.12", "Z00.6", "D63.0"]
CODES = ["J9271", "J9305", "J9045", "96413", "96415", "96417", "96375", "99214", "G0463", "J9999", "Q5107"]
MODIFIERS = ["JZ", "JW", "25", "59", "XE", "Q0", "Q1", "KX", "GA"]
REVENUE = ["0335", "0260", "0636", "0510", "0250"]


@st.composite
def claims(draw: st.DrawFn) -> Any:
    form = draw(st.sampled_from(list(ClaimForm)))
    base = make_claim(
        "hospital_outpatient_trial" if form is ClaimForm.INSTITUTIONAL else "office_nsclc_carbo_pem_pembro"
    )
    data = base.model_dump()
    n_dx = draw(st.integers(1, 14))
    data["diagnoses"] = [
        {"code": c} for c in draw(st.lists(st.sampled_from(ICD), min_size=n_dx, max_size=n_dx))
    ]
    data["payer"]["plan_type"] = draw(st.sampled_from(list(PlanType)))
    data["prior_authorization"] = draw(st.none() | st.text("ABCDEFGHJK0123456789", min_size=4, max_size=12))
    data["clinical_trial_number"] = draw(st.none() | st.from_regex(r"\A[0-9]{8}\Z"))
    data["claim_id"] = draw(st.from_regex(r"\A[A-Z0-9]{1,20}\Z"))
    if draw(st.booleans()):
        data["subscriber"] = dict(data["patient"], first_name="SUBSCRIBER")
        data["patient"]["relationship"] = draw(st.sampled_from(["01", "19", "G8"]))
    start = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 700)))
    lines = []
    for number in range(1, draw(st.integers(1, 12)) + 1):
        line: dict[str, Any] = {
            "line_number": number,
            "procedure_code": draw(st.sampled_from(CODES)),
            "modifiers": draw(st.lists(st.sampled_from(MODIFIERS), max_size=4, unique=True)),
            "units": draw(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9999"), places=3)),
            "charge": draw(st.decimals(min_value=Decimal("0"), max_value=Decimal("99999"), places=2)),
            "service_date": start + dt.timedelta(days=draw(st.integers(0, 3))),
            "diagnosis_pointers": draw(st.lists(st.integers(1, min(n_dx, 12)), min_size=1, max_size=4)),
            "control_number": f"C{number}",
        }
        if form is ClaimForm.INSTITUTIONAL:
            line["revenue_code"] = draw(st.sampled_from(REVENUE))
            line["diagnosis_pointers"] = [1]  # 837I lines carry no diagnosis pointers
        if draw(st.booleans()):
            line |= {
                "ndc": "00006302602",
                "ndc_unit": draw(st.sampled_from(list(NdcUnit))),
                "ndc_quantity": draw(
                    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999"), places=3)
                ),
            }
        lines.append(line)
    data["lines"] = lines
    data["submission_date"] = start + dt.timedelta(days=draw(st.integers(3, 200)))
    return type(base).model_validate(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(claims(), min_size=1, max_size=4, unique_by=lambda c: c.claim_id))
def test_write_then_read_gives_the_same_claims(batch: list[Any]) -> None:
    text = write_837(batch, created=dt.datetime(2026, 1, 1, 12, 0))
    doc = read_x12(text)
    assert doc.errors == []
    assert sorted(doc.claims, key=lambda c: c.claim_id) == sorted(batch, key=lambda c: c.claim_id)


def test_claims_of_one_member_with_different_subscriber_data_keep_their_own() -> None:
    """Found by the property above: claims of one member and payer were written under one 2000B loop, so
    the later ones were read back with the first one's plan type, relationship or subscriber."""
    base = make_claim()
    other_plan = base.model_copy(
        update={"claim_id": "B2", "payer": base.payer.model_copy(update={"plan_type": PlanType.MEDICAID})}
    )
    patient = base.patient.model_copy(update={"relationship": "19"})
    dependent = base.model_copy(
        update={
            "claim_id": "B3",
            "patient": patient,
            "subscriber": base.patient.model_copy(update={"first_name": "SUBSCRIBER"}),
        }
    )
    batch = [base, other_plan, dependent]
    doc = read_x12(write_837(batch, created=dt.datetime(2026, 1, 1, 12, 0)))
    assert doc.errors == []
    assert sorted(doc.claims, key=lambda c: c.claim_id) == sorted(batch, key=lambda c: c.claim_id)
    direct = write_837(batch, created=dt.datetime(2026, 1, 1, 12, 0), validate=False)
    assert direct == write_837(batch, created=dt.datetime(2026, 1, 1, 12, 0))
