"""The writer's unvalidated fast path (``validate=False``, used by the simulator) writes the same bytes as
the validated path, and the simulator's parallel X12 writing the same files as writing in one process."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import claims.simulate.engine as engine
from claims.samples import SCENARIOS, sample_remittances
from claims.simulate.config import SimulationConfig
from claims.simulate.engine import simulate_practice
from claims.x12 import write_835, write_837

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
    assert len(forms) == 2  # both 837P and 837I are exercised
    fast = write_837(simulated.claims, created=CREATED, validate=False)
    assert fast == write_837(simulated.claims, created=CREATED, validate=True)
    fast_835 = write_835(simulated.remittances, created=CREATED, validate=False)
    assert fast_835 == write_835(simulated.remittances, created=CREATED, validate=True)


def test_fast_path_rejects_an_unknown_field() -> None:
    from claims.x12 import wire

    with pytest.raises(KeyError):
        wire._construct(wire.Remittance835, {"no_such_loop": {}})


def test_parallel_x12_writing_gives_the_same_files(
    simulated: engine.SimulationResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = engine._write_x12(simulated, tmp_path / "serial", workers=1)
    monkeypatch.setattr(engine, "PARALLEL_X12_MIN_LINES", 0)
    parallel = engine._write_x12(simulated, tmp_path / "parallel", workers=2)
    assert parallel == serial and len(serial) > 2
    for name in serial:
        assert (tmp_path / "parallel" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes()
