"""The simulator: realism bar on a 20,000-claim run, determinism, and X12 <-> Parquet consistency."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from claims.ingest import ingest
from claims.simulate import SimulationConfig, simulate_practice, write_simulation
from claims.simulate.engine import OUTCOME_KEYS


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC by the rank-sum formula (ties get average ranks)."""
    ranks = pd.Series(score).rank(method="average").to_numpy()
    positives = y.sum()
    negatives = len(y) - positives
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("sim20k")
    write_simulation(simulate_practice(SimulationConfig(claims=20_000, seed=7)), out)
    lines = pq.read_table(out / "lines.parquet").to_pandas()
    outcomes = pq.read_table(out / "outcomes.parquet").to_pandas()
    truth = pq.read_table(out / "truth.parquet").to_pandas()
    frame = lines.merge(outcomes, on=list(OUTCOME_KEYS)).merge(truth, on=list(OUTCOME_KEYS))
    assert len(frame) == len(lines) == len(truth)
    return frame[frame.label_denied.notna()].assign(denied=lambda d: d.label_denied.astype(bool))


@pytest.mark.slow
def test_denial_rate_and_payer_differences(history: pd.DataFrame) -> None:
    rate = history.denied.mean()
    assert 0.06 <= rate <= 0.18, rate
    by_plan = history.groupby("plan_type").denied.mean()
    assert by_plan.idxmin() == "medicare", by_plan.to_dict()
    commercial = history[history.plan_type == "commercial"].groupby("payer_name").denied.mean()
    assert commercial.max() >= 2 * commercial.min(), commercial.to_dict()


@pytest.mark.slow
def test_every_denial_category_occurs(history: pd.DataFrame) -> None:
    from claims.enums import DenialCategory

    seen = set(history.label_category.dropna())
    assert {c.value for c in DenialCategory} - seen == set()


@pytest.mark.slow
def test_rules_catch_at_most_65_percent_of_denied_dollars(history: pd.DataFrame) -> None:
    denied = history[history.denied]
    share = denied.loc[denied.rule_based, "line_charge"].sum() / denied.line_charge.sum()
    assert share <= 0.65, share


@pytest.mark.slow
def test_oracle_is_hard_but_learnable_on_the_last_quarter(history: pd.DataFrame) -> None:
    last = history[history.service_date >= dt.date(2025, 10, 1)]  # the last quarter of the default period
    auc = roc_auc(last.denied.to_numpy().astype(int), last.true_probability.to_numpy())
    assert 0.80 <= auc <= 0.93, auc


@pytest.mark.slow
def test_a_policy_date_changes_a_payer_drug_denial_rate_twofold(history: pd.DataFrame) -> None:
    evergreen = history[
        (history.payer_name == "EVERGREEN CHOICE HMO") & history.procedure_code.isin(["J2506"])
    ]
    before = evergreen[evergreen.service_date < dt.date(2024, 7, 1)].denied.mean()
    after = evergreen[evergreen.service_date >= dt.date(2024, 7, 1)].denied.mean()
    assert after >= 2 * before, (before, after)


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
