"""Files produced by another tool (x12sdk.generate, several seeds, dependents included) parse correctly:
every claim, line and adjustment arrives with the values that tool put in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from x12sdk.generate import generate_835, generate_837i, generate_837p
from x12sdk.io import X12ModelReader

from claims.enums import ClaimForm
from claims.x12 import read_x12

SEEDS = [1, 7, 42, 2026]


def _expected_claims(text: str) -> list[tuple[str, Decimal, bool, list[tuple[str, Decimal]]]]:
    """What x12sdk's own accessor sees: (CLM01, CLM02, dependent?, [(procedure, units)])."""
    expected = []
    with X12ModelReader(text) as reader:
        for model in reader.models():
            for record in model.claims():
                lines = []
                for loop in record.claim.loop_2400:
                    segment = getattr(loop, "sv1_segment", None) or loop.sv2_segment
                    composite = getattr(segment, "product_service_id_qualifier", None) or (
                        segment.composite_medical_procedure_identifier
                    )
                    lines.append((composite.split(":")[1], segment.service_unit_count))
                expected.append((record.patient_control_number, record.charge, record.is_dependent, lines))
    return expected


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("generate", "form"), [(generate_837p, ClaimForm.PROFESSIONAL), (generate_837i, ClaimForm.INSTITUTIONAL)]
)
def test_generated_837_every_claim_and_line_arrives(generate, form, seed: int) -> None:  # type: ignore[no-untyped-def]
    text = generate(seed=seed, claims=25, dependent_rate=0.5)
    doc = read_x12(text)
    assert doc.errors == []
    expected = _expected_claims(text)
    assert any(dependent for _, _, dependent, _ in expected), "the generator should include dependents"
    got = [
        (
            c.claim_id,
            c.total_charge,
            c.subscriber is not None,
            [(line.procedure_code, line.units) for line in c.lines],
        )
        for c in doc.claims
    ]
    assert got == expected
    assert all(c.form is form for c in doc.claims)
    assert doc.raw_counts["CLM"] == len(doc.claims)
    assert doc.raw_counts["SV1"] + doc.raw_counts["SV2"] == doc.line_count


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_835_every_claim_line_and_adjustment_arrives(seed: int) -> None:
    text = generate_835(seed=seed, claims=25)
    doc = read_x12(text)
    assert doc.errors == []
    raw_cas_reasons = 0
    for segment in text.replace("\n", "").split("~"):
        parts = segment.split("*")
        if parts[0] == "CAS":
            raw_cas_reasons += sum(1 for i in range(2, len(parts), 3) if parts[i])
    payments = [c for r in doc.remittances for c in r.claims]
    assert len(payments) == doc.raw_counts["CLP"] == 25
    assert sum(len(c.lines) for c in payments) == doc.raw_counts["SVC"]
    adjustments = sum(len(c.adjustments) + sum(len(line.adjustments) for line in c.lines) for c in payments)
    assert adjustments == raw_cas_reasons
    for payment in payments:  # the 835 balances: charge - adjustments = paid, line by line
        for line in payment.lines:
            assert line.charge - sum(a.amount for a in line.adjustments) == line.paid
