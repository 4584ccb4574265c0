"""Golden X12 files written by this project: write gives the same bytes; read -> domain -> write -> read
gives the same domain objects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from claims.samples import SCENARIOS, sample_remittances
from claims.x12 import read_x12, write_835, write_837

CREATED = dt.datetime(2026, 2, 5, 12, 0)


def _golden(golden_dir: Path, name: str) -> Path:
    return next(golden_dir.glob(f"{name}.837*"))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_writer_reproduces_the_golden_837(name: str, golden_dir: Path) -> None:
    claim = SCENARIOS[name]()
    assert write_837([claim], created=CREATED) == _golden(golden_dir, name).read_text()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_837_reads_back_to_the_scenario(name: str, golden_dir: Path) -> None:
    doc = read_x12(_golden(golden_dir, name))
    assert doc.errors == []
    assert doc.claims == [SCENARIOS[name]()]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_read_write_read_round_trip(name: str, golden_dir: Path) -> None:
    first = read_x12(_golden(golden_dir, name)).claims
    again = read_x12(write_837(first, created=CREATED)).claims
    assert again == first


def test_golden_835_round_trip(golden_dir: Path) -> None:
    path = golden_dir / "remittances_denials.835"
    assert write_835(sample_remittances(), created=dt.datetime(2026, 3, 20, 12, 0)) == path.read_text()
    doc = read_x12(path)
    assert doc.errors == []
    assert doc.remittances == sample_remittances()
    assert read_x12(write_835(doc.remittances, created=CREATED)).remittances == doc.remittances


def test_golden_files_carry_the_oncology_elements(golden_dir: Path) -> None:
    nsclc = read_x12(_golden(golden_dir, "office_nsclc_carbo_pem_pembro")).claims[0]
    pembro = next(line for line in nsclc.lines if line.procedure_code == "J9271")
    assert (pembro.units, pembro.modifiers, pembro.ndc, pembro.control_number) == (
        200,
        ["JZ"],
        "00006302602",
        "L006",
    )
    assert nsclc.diagnosis_codes == ["Z51.11", "C34.90"]  # every HI code, in order
    folfox = read_x12(_golden(golden_dir, "office_folfox_bev_dependent")).claims[0]
    assert folfox.prior_authorization == "NCA55501"
    assert folfox.subscriber is not None and folfox.patient.relationship == "01"
    trial = read_x12(_golden(golden_dir, "hospital_outpatient_trial")).claims[0]
    assert trial.type_of_bill == "0131"
    assert trial.condition_codes == ["30"]
    assert trial.clinical_trial_number == "01234567"
    assert [line.revenue_code for line in trial.lines] == ["0335", "0260", "0636", "0636", "0510"]
    assert trial.lines[2].modifiers == ["Q0"] and trial.lines[2].description


def test_writing_is_deterministic() -> None:
    claims = [make() for make in SCENARIOS.values()]
    assert write_837(claims, created=CREATED) == write_837(claims, created=CREATED)
