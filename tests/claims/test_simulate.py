"""The simulator: realism bar on a 20,000-claim run, determinism, and X12 <-> Parquet consistency."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from claims.enums import DenialCategory
from claims.ingest import ingest
from claims.simulate import SimulationConfig, simulate_practice, write_simulation
from claims.simulate.engine import OUTCOME_KEYS

ROOT = Path(__file__).resolve().parents[2]


def _realism() -> Any:
    spec = importlib.util.spec_from_file_location(
        "simulate_realism", ROOT / "benchmarks" / "simulate_realism.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


realism = _realism()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("sim20k")
    write_simulation(simulate_practice(SimulationConfig(claims=20_000, seed=7)), out)
    frame: pd.DataFrame = realism.load_history(out)
    return frame


@pytest.fixture(scope="module")
def bar(history: pd.DataFrame) -> dict[str, Any]:
    result: dict[str, Any] = realism.figures(history, end=SimulationConfig().end)
    return result


@pytest.mark.slow
def test_denial_rate_and_payer_differences(bar: dict[str, Any]) -> None:
    assert 0.06 <= bar["denial_rate"] <= 0.18, bar["denial_rate"]
    by_plan = bar["denial_rate_by_plan_type"]
    assert min(by_plan, key=by_plan.get) == "medicare", by_plan
    assert bar["commercial_max_over_min"] >= 2, bar["denial_rate_by_payer"]


@pytest.mark.slow
def test_every_denial_category_occurs(bar: dict[str, Any]) -> None:
    assert {c.value for c in DenialCategory} - set(bar["categories"]) == set()


@pytest.mark.slow
def test_rules_catch_at_most_65_percent_of_denied_dollars(bar: dict[str, Any]) -> None:
    assert bar["rule_catchable_share_of_denied_dollars"] <= 0.65


@pytest.mark.slow
def test_oracle_is_hard_but_learnable_on_the_last_quarter(bar: dict[str, Any]) -> None:
    assert 0.80 <= bar["oracle_auc_last_quarter"] <= 0.93


@pytest.mark.slow
def test_a_policy_date_changes_a_payer_drug_denial_rate_twofold(bar: dict[str, Any]) -> None:
    change = bar["policy_change"]
    assert change["after"] >= 2 * change["before"], change


@pytest.mark.slow
def test_truth_matches_the_outcomes(history: pd.DataFrame) -> None:
    """The truth table is the oracle: its probabilities are calibrated against the drawn outcomes."""
    bins = pd.cut(history.true_probability, [0, 0.05, 0.2, 0.5, 0.8, 1.0], include_lowest=True)
    observed = history.groupby(bins, observed=True).agg(p=("true_probability", "mean"), y=("denied", "mean"))
    assert (observed.p - observed.y).abs().max() < 0.05, observed


def test_pembrolizumab_is_near_12000_at_medicare_in_2026q1(tmp_path: Path) -> None:
    config = SimulationConfig(claims=1500, seed=3, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    write_simulation(simulate_practice(config), tmp_path)
    lines = pq.read_table(tmp_path / "lines.parquet").to_pandas()
    outcomes = pq.read_table(tmp_path / "outcomes.parquet").to_pandas()
    frame = lines.merge(outcomes, on=list(OUTCOME_KEYS))
    pembro = frame[
        (frame.procedure_code == "J9271")
        & (frame.units == 200)
        & (frame.plan_type == "medicare")
        & ~frame.label_denied.astype(bool)
    ]
    assert len(pembro) > 0
    assert pembro.outcome_allowed.median() == pytest.approx(12_000, rel=0.05)


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    config = SimulationConfig(claims=300, seed=11)
    write_simulation(simulate_practice(config), tmp_path / "a", x12=True)
    write_simulation(simulate_practice(config), tmp_path / "b", x12=True)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_parallel_writing_and_when_the_adjudication_runs_change_no_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``write_simulation`` gives the same files whether the adjudication was decided before it (by
    reading ``remittances``) or while forked workers write the claims' files, and in one process."""
    from claims.simulate import engine

    config = SimulationConfig(claims=300, seed=11)
    decided = simulate_practice(config)
    remittances = decided.remittances
    write_simulation(decided, tmp_path / "serial", x12=True, x12_workers=1)
    assert decided.remittances is remittances, "decided once"
    monkeypatch.setattr(engine, "PARALLEL_X12_MIN_LINES", 0)
    pending = simulate_practice(config)
    write_simulation(pending, tmp_path / "parallel", x12=True, x12_workers=2)
    write_simulation(decided, tmp_path / "decided_parallel", x12=True, x12_workers=3)
    assert _digests(tmp_path / "parallel") == _digests(tmp_path / "serial")
    assert _digests(tmp_path / "decided_parallel") == _digests(tmp_path / "serial")
    assert pending.remittances == remittances and pending.truth == decided.truth


def test_a_failing_worker_fails_the_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    from claims.simulate import engine

    class Failing:
        size = 1
        path = Path("never-written")

        def write(self) -> None:
            raise ValueError("cannot write")

    monkeypatch.setattr(engine, "PARALLEL_X12_MIN_LINES", 0)
    jobs: Any = [Failing(), Failing()]  # one for the forked worker, one for this process
    sharing = engine._sharing(jobs, workers=2)
    with pytest.raises((RuntimeError, ValueError), match="cannot write"), sharing:
        pass


def test_ingest_of_the_x12_gives_back_the_parquet_tables(tmp_path: Path) -> None:
    config = SimulationConfig(claims=600, seed=5)
    write_simulation(simulate_practice(config), tmp_path / "sim", x12=True)
    x12 = tmp_path / "sim" / "x12"
    summary = ingest(
        sorted(x12.glob("*.837*")), sorted(x12.glob("*.835")), tmp_path / "ingested", salt=config.id_salt
    )
    assert summary["errors"] == 0
    ingested = (
        pq.read_table(tmp_path / "ingested" / "lines.parquet").to_pandas().drop(columns=["source_file"])
    )
    lines = pq.read_table(tmp_path / "sim" / "lines.parquet").to_pandas().drop(columns=["source_file"])
    outcomes = pq.read_table(tmp_path / "sim" / "outcomes.parquet").to_pandas()
    simulated = lines.merge(outcomes, on=list(OUTCOME_KEYS))[ingested.columns]
    key = [*OUTCOME_KEYS]
    left = ingested.sort_values(key).reset_index(drop=True)
    right = simulated.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_port_flush_visits_are_alone_on_their_day() -> None:
    result = simulate_practice(SimulationConfig(claims=1500, seed=9))
    flushes = [c for c in result.claims if any(line.procedure_code == "96523" for line in c.lines)]
    assert flushes, "office patients with a port come back for flushes after treatment"
    for claim in flushes:
        assert [line.procedure_code for line in claim.lines] == [
            "96523"
        ]  # 96523 only when nothing else is given
        assert claim.diagnosis_codes[0] == "Z45.2"


def test_config_errors_name_the_file_and_field(tmp_path: Path) -> None:
    from claims.errors import ClaimsError
    from claims.simulate import load_config

    bad = tmp_path / "sim.yaml"
    bad.write_text("claims: 10\ncoder_errors:\n  missing_jw_jz: 2\n")
    with pytest.raises(ClaimsError, match=r"sim.yaml: coder_errors.missing_jw_jz: Input should be less than"):
        load_config(bad)
    with pytest.raises(ClaimsError, match="the period must be longer than 60 days"):
        load_config(start=dt.date(2025, 1, 1), end=dt.date(2024, 1, 1))
    assert load_config(None, claims=5).claims == 5


def test_objects_built_without_validation_are_valid_as_built() -> None:
    """The simulator builds its claims and remittances with ``trusted`` (no validation): validating each
    again must accept it and change nothing (normalised codes, Decimal money, enum members)."""
    from claims.model import Claim, Remittance

    result = simulate_practice(SimulationConfig(claims=400, seed=5))
    for claim in result.claims:
        assert Claim.model_validate(claim.model_dump()) == claim, claim.claim_id
    for remittance in result.remittances:
        assert Remittance.model_validate(remittance.model_dump()) == remittance, remittance.trace_number


def test_trusted_refuses_unknown_and_missing_fields() -> None:
    from claims.model import Diagnosis
    from claims.trusted import trusted

    assert trusted(Diagnosis, code="C34.90") == Diagnosis(code="C34.90")
    with pytest.raises(TypeError, match="unknown"):
        trusted(Diagnosis, code="C34.90", note="x")
    with pytest.raises(TypeError, match="missing"):
        trusted(Diagnosis)


def test_simulator_tables_are_the_ingest_line_table(tmp_path: Path) -> None:
    """``write_simulation`` builds its line and outcome tables directly (in record batches, with the join
    and the labels of :func:`claims.ingest.line_table`): the same rows as ``line_table`` of its claims and
    remittances, duplicates and claim-level denials included."""
    from claims.ingest import IngestResult, line_table
    from claims.simulate import engine

    config = SimulationConfig(claims=900, seed=3)
    result = simulate_practice(config)
    assert len({c.claim_id for c in result.claims}) < len(result.claims), "duplicates are part of the test"
    assert any(not p.lines for r in result.remittances for p in r.claims), "so are claim-level denials"
    expected, stats = line_table(
        IngestResult(
            claims=result.claims,
            claim_sources=["simulated"] * len(result.claims),
            remittances=result.remittances,
        ),
        salt=config.id_salt,
    )
    original = engine.TABLE_BATCH_LINES
    engine.TABLE_BATCH_LINES = 1000  # several batches
    try:
        summary = write_simulation(result, tmp_path)
    finally:
        engine.TABLE_BATCH_LINES = original
    lines = pq.read_table(tmp_path / "lines.parquet")
    outcomes = pq.read_table(tmp_path / "outcomes.parquet")
    assert lines.equals(expected.select(lines.column_names))
    assert outcomes.equals(expected.select(outcomes.column_names))
    assert summary["denial_categories"] == stats["denial_categories"]
    assert summary["denial_rate"] == stats["denial_rate"]
