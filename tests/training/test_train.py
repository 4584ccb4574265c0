"""Training end to end on a small simulated practice, with a temporary MLflow store.

Checks the time split, the logged run (config, metrics, report, model with signature), the registry
aliases and promotion gates, loading the model back with MLflow alone, and that no patient data reaches
the run's artifacts.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from claims.simulate.engine import SimulationResult
from features import INPUT_COLUMNS
from training.cli import app
from training.config import ConfigError, Profile, TrainingConfig, load_config, load_profile
from training.dataset import DataError, load_dataset, split_by_time
from training.train import train_model

pytestmark = pytest.mark.slow

SMALL = {
    "model": {"n_estimators": 60, "min_child_samples": 20, "min_code_count": 5, "reason_estimators": 30},
    "capacity": {"candidates": [{"num_leaves": 7, "max_depth": 3}, {"num_leaves": 15, "max_depth": 4}],
                 "contrib_rows": 200},
}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    folder = tmp_path_factory.mktemp("mlflow")
    return Profile(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", model_name="test-denials")


@pytest.fixture(scope="module")
def first_run(small_practice: tuple[SimulationResult, Path], store: Profile):  # type: ignore[no-untyped-def]
    _, folder = small_practice
    return train_model(folder, TrainingConfig.model_validate(SMALL), store, promote=True)


def test_split_is_by_time_and_uses_only_known_outcomes(small_practice: tuple[SimulationResult, Path]) -> None:
    frame = load_dataset(small_practice[1]).frame
    split = split_by_time(frame, validation_fraction=0.15, test_fraction=0.2)
    dates = pd.to_datetime(frame["submission_date"])
    assert dates[split.train].max() < dates[split.validation].min() <= dates[split.validation].max()
    assert dates[split.validation].max() < dates[split.test].min()
    received = pd.to_datetime(frame["outcome_received_date"])[split.train]
    assert (received < pd.Timestamp(split.validation_start)).all()
    assert not (split.train & split.test).any()


def test_run_is_logged_registered_and_promoted(first_run, store: Profile) -> None:  # type: ignore[no-untyped-def]
    mlflow.set_tracking_uri(store.tracking_uri)
    client = MlflowClient()
    run = client.get_run(first_run.registered.run_id)
    for key in ("model.roc_auc", "model.brier", "model.ece", "payer_prior.roc_auc", "audit_rules.roc_auc",
                "logistic.roc_auc", "oracle.roc_auc", "roc_auc_vs_oracle", "model.reason_top1_accuracy"):  # fmt: skip
        assert key in run.data.metrics, key
    assert len(run.data.params["data.fingerprint"]) == 16 and "config.json" in {
        a.path for a in client.list_artifacts(run.info.run_id)
    }
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    for name in ("roc_pr.png", "calibration.png", "lift.png", "feature_importance.png",
                 "contribution_summary.png", "model_card.md", "metrics.json", "slices.json"):  # fmt: skip
        assert f"report/{name}" in artifacts
    assert first_run.promoted and first_run.promotion_reason == "no champion yet"
    assert str(client.get_model_version_by_alias(store.model_name, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(store.model_name, "challenger").version) == "1"
    chosen = [c for c in first_run.capacity if c.get("chosen")]
    assert len(chosen) == 1 and all(c["contrib_ms_per_row"] > 0 for c in first_run.capacity)


def test_model_loads_with_mlflow_alone_and_predicts_the_same(
    first_run,
    store: Profile,
    small_practice: tuple[SimulationResult, Path],  # type: ignore[no-untyped-def]
) -> None:
    mlflow.set_tracking_uri(store.tracking_uri)
    loaded = mlflow.pyfunc.load_model(f"models:/{store.model_name}@champion")
    frame = load_dataset(small_practice[1]).frame.head(50)[list(INPUT_COLUMNS)]
    expected = first_run.model.predict_proba(frame)
    np.testing.assert_allclose(np.asarray(loaded.predict(frame)), expected)


def test_a_worse_challenger_is_not_promoted(
    first_run,
    store: Profile,
    small_practice: tuple[SimulationResult, Path],  # type: ignore[no-untyped-def]
) -> None:
    strict = TrainingConfig.model_validate(
        {**SMALL, "capacity": {"enabled": False}, "gates": {"min_auc_gain": 0.5}}
    )
    second = train_model(small_practice[1], strict, store, promote=True)
    assert not second.promoted and "below the gate" in second.promotion_reason
    mlflow.set_tracking_uri(store.tracking_uri)
    client = MlflowClient()
    assert str(client.get_model_version_by_alias(store.model_name, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(store.model_name, "challenger").version) == "2"


def test_no_patient_data_in_the_run(first_run, store: Profile, small_practice, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result, _ = small_practice
    mlflow.set_tracking_uri(store.tracking_uri)
    folder = Path(
        mlflow.artifacts.download_artifacts(run_id=first_run.registered.run_id, dst_path=str(tmp_path))
    )
    text = "\n".join(
        p.read_text(errors="ignore")
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".md", ".json", ".yaml", ".txt")
    )
    secrets = {c.patient.member_id for c in result.claims} | {c.patient.last_name for c in result.claims}
    secrets |= {str(c.patient.birth_date) for c in result.claims}
    leaked = sorted(s for s in secrets if len(s) >= 5 and s in text)
    assert leaked == []


def test_evaluate_command_prints_one_json_object(
    first_run, store: Profile, small_practice, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(f"test:\n  tracking_uri: {store.tracking_uri}\n  model_name: {store.model_name}\n")
    result = CliRunner().invoke(
        app,
        ["evaluate", "--data", str(small_practice[1]), "--model", f"models:/{store.model_name}@champion",
         "--profile", "test", "--profiles", str(profiles), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    assert set(payload["metrics"]) == {"model", "payer_prior", "audit_rules", "logistic", "oracle"}
    assert payload["metrics"]["model"]["roc_auc"] > 0.6


def test_bad_data_folder_and_config_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no lines\.parquet"):
        load_dataset(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  num_leaves: one\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: model.num_leaves: "):
        load_config(bad)
    with pytest.raises(ConfigError, match="no profile 'nope'"):
        load_profile("nope")
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "no lines.parquet" in result.output and "Traceback" not in result.output
