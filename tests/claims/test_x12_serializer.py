"""The direct serializer (``write_837``/``write_835(..., validate=False)``, used by the simulator) writes
byte for byte what the x12sdk reference path writes: for the golden files, a simulated batch, and
generated claims and remittances; and the simulator's parallel X12 writing gives the same files as one
process."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import claims.simulate.engine as engine
from claims.enums import AdjustmentGroup
from claims.errors import DomainValueError
from claims.model import Adjustment, ClaimPayment, LineOutcome, Remittance
from claims.samples import SCENARIOS, make_claim, sample_remittances
from claims.simulate.config import SimulationConfig
from claims.simulate.engine import simulate_practice
from claims.x12 import read_x12, write_835, write_837
from tests.claims.test_x12_properties import claims as generated_claims

CREATED = dt.datetime(2026, 2, 5, 12, 0)


@pytest.fixture(scope="module")
def simulated() -> engine.SimulationResult:
    return simulate_practice(SimulationConfig(claims=250, seed=7))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fast_837_matches_the_golden_file(name: str, golden_dir: Path) -> None:
    golden = next(golden_dir.glob(f"{name}.837*")).read_text()
    claim = SCENARIOS[name]()
    assert write_837([claim], created=CREATED, validate=False) == golden
    assert write_837([claim], created=CREATED, validate=True) == golden


def test_fast_835_matches_the_golden_file(golden_dir: Path) -> None:
    golden = (golden_dir / "remittances_denials.835").read_text()
    created = dt.datetime(2026, 3, 20, 12, 0)
    assert write_835(sample_remittances(), created=created, validate=False) == golden


def test_fast_path_matches_validated_path_on_a_simulated_batch(simulated: engine.SimulationResult) -> None:
    forms = {c.form for c in simulated.claims}
    assert len(forms) == 2  # both 837P and 837I are exercised, in one interchange (two functional groups)
    fast = write_837(simulated.claims, created=CREATED, validate=False)
    assert fast == write_837(simulated.claims, created=CREATED, validate=True)
    fast_835 = write_835(simulated.remittances, created=CREATED, validate=False)
    assert fast_835 == write_835(simulated.remittances, created=CREATED, validate=True)
    assert read_x12(fast).errors == [] and read_x12(fast_835).errors == []


def test_envelope_options_are_written_alike(simulated: engine.SimulationResult) -> None:
    options: dict[str, Any] = {"sender_id": "  SENDER9 ", "receiver_id": "RCV", "control_number": 42}
    for validate in (True, False):
        options[f"text_{validate}"] = write_837(
            simulated.claims[:30], created=CREATED, receiver_name="ACME CLEARING", submitter_name="ONC",
            validate=validate, **{k: options[k] for k in ("sender_id", "receiver_id", "control_number")},
        )  # fmt: skip
    assert options["text_True"] == options["text_False"]


def test_fast_path_raises_like_the_reference_without_an_address() -> None:
    claim = make_claim("office_folfox_bev_dependent")  # the patient is a dependent: 2010CA needs N3/N4
    broken = claim.model_copy(update={"patient": claim.patient.model_copy(update={"address": None})})
    for validate in (True, False):
        with pytest.raises(DomainValueError, match=r"patient\.address"):
            write_837([broken], created=CREATED, validate=validate)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(generated_claims(), min_size=1, max_size=5, unique_by=lambda c: c.claim_id))
def test_fast_837_is_identical_for_generated_claims(batch: list[Any]) -> None:
    created = dt.datetime(2026, 1, 1, 12, 0)
    assert write_837(batch, created=created, validate=False) == write_837(batch, created=created)


_MONEY = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999"), places=2)
_AMOUNT = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999"), places=2)  # x12sdk: CAS03 not 0
_UNITS = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9999"), places=3)
_CODE = st.sampled_from(["J9271", "96413", "J9305", "G0463", "99214", "Q5107"])
_CARC = st.sampled_from(["45", "253", "2", "197", "16", "96", "50", "4", "151"])


@st.composite
def _adjustments(draw: st.DrawFn) -> list[Adjustment]:
    return [
        Adjustment(
            group=draw(st.sampled_from(list(AdjustmentGroup))),
            reason_code=draw(_CARC),
            amount=draw(_AMOUNT),
            quantity=draw(st.none() | _UNITS),
        )
        for _ in range(draw(st.integers(0, 8)))
    ]


def _total(adjustments: list[Adjustment]) -> Decimal:
    return sum((a.amount for a in adjustments), Decimal(0))


@st.composite
def _line_outcome(draw: st.DrawFn) -> LineOutcome:
    # x12sdk balances each line and claim: charge - paid = the CAS amounts.
    paid, adjustments = draw(_MONEY), draw(_adjustments())
    return LineOutcome(
        procedure_code=draw(_CODE),
        modifiers=draw(st.lists(st.sampled_from(["JZ", "JW", "25", "Q1"]), max_size=3, unique=True)),
        submitted_procedure_code=draw(st.none() | _CODE),
        revenue_code=draw(st.none() | st.sampled_from(["0636", "0335"])),
        charge=paid + _total(adjustments),
        paid=paid,
        allowed=draw(st.none() | _MONEY),
        units_paid=draw(st.none() | _UNITS),
        service_date=draw(st.none() | st.dates(dt.date(2023, 1, 1), dt.date(2026, 12, 31))),
        control_number=draw(st.none() | st.from_regex(r"\AC[0-9]{7}-[0-9]{1,2}\Z")),
        adjustments=adjustments,
        remark_codes=draw(st.lists(st.sampled_from(["M119", "N362", "MA130", "N54"]), max_size=3)),
    )


@st.composite
def _remittance(draw: st.DrawFn) -> Remittance:
    payments = []
    for number in range(draw(st.integers(1, 4))):
        lines, paid, adjustments = (
            draw(st.lists(_line_outcome(), max_size=4)),
            draw(_MONEY),
            draw(_adjustments()),
        )
        charge = paid + _total(adjustments) + sum((_total(line.adjustments) for line in lines), Decimal(0))
        payments.append(ClaimPayment(
            claim_id=f"C{number:07d}", status_code=draw(st.sampled_from(["1", "2", "4", "22"])),
            charge=charge, paid=paid, patient_responsibility=draw(st.none() | _MONEY),
            filing_indicator=draw(st.sampled_from(["MB", "16", "MC", "12"])),  # x12sdk requires CLP06
            payer_claim_number=draw(st.none() | st.from_regex(r"\A[A-Z0-9]{5,14}\Z")),
            adjustments=adjustments,
            remark_codes=draw(st.lists(st.sampled_from(["MA130", "MA50", "N351"]), max_size=6)),
            lines=lines,
            patient_last_name=draw(st.none() | st.sampled_from(["SMITH", "LEE"])),
            patient_first_name=draw(st.none() | st.sampled_from(["ANNA", "JOHN"])),
            member_id=draw(st.none() | st.from_regex(r"\A[A-Z0-9]{9,11}\Z")),
        ))  # fmt: skip
    total = sum((p.paid for p in payments), Decimal(0))
    return Remittance(
        payer_id=draw(st.none() | st.sampled_from(["15202", "87726", "1234567890123"])),
        payer_name="NORTHSTAR COMMERCIAL HEALTH",
        payer_address={"line1": "PO BOX 1000", "city": "COLUMBUS", "state": "OH", "postal_code": "43216"},
        payee_name=draw(st.none() | st.just("RIVERSIDE ONCOLOGY ASSOCIATES")),
        payee_npi="1234567893",  # x12sdk requires N1*PE*..*XX
        payment_date=draw(st.none() | st.dates(dt.date(2023, 1, 1), dt.date(2026, 12, 31))),
        production_date=draw(st.none() | st.dates(dt.date(2023, 1, 1), dt.date(2026, 12, 31))),
        trace_number=draw(st.none() | st.from_regex(r"\A[A-Z0-9]{6,12}\Z")),
        total_paid=total,
        claims=payments,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_remittance(), min_size=1, max_size=3))
def test_fast_835_is_identical_for_generated_remittances(remittances: list[Remittance]) -> None:
    created = dt.datetime(2026, 3, 20, 12, 0)
    fast = write_835(remittances, created=created, validate=False)
    assert fast == write_835(remittances, created=created)
    assert read_x12(fast).errors == []


def test_parallel_x12_writing_gives_the_same_files(
    simulated: engine.SimulationResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = engine._write_x12(simulated, tmp_path / "serial", workers=1)
    monkeypatch.setattr(engine, "PARALLEL_X12_MIN_LINES", 0)
    parallel = engine._write_x12(simulated, tmp_path / "parallel", workers=2)
    assert parallel == serial and len(serial) > 2
    for name in serial:
        assert (tmp_path / "parallel" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes()


def test_remembered_amounts_are_written_as_before() -> None:
    """``_money`` and ``_plain`` remember the text of each value: equal values written differently
    (``1.5``, ``1.50``), zero and negative zero, and integers give the text they gave without it."""
    from decimal import Decimal

    from claims.x12 import serializer

    values = ["1.5", "1.50", "1.500", "0", "-0", "0.00", "-0.00", "200", "200.000", "2E+2", "12.345", "-3.10"]
    for _ in range(2):  # the second time from the remembered texts
        for text in values:
            value = Decimal(text)
            assert serializer._money(value) == format(value.quantize(Decimal("0.01")), "f"), text
            plain = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
            assert serializer._plain(value) == format(plain, "f"), text
