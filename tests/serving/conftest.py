"""Serving fixtures: a small model trained once per session, settings, and an app with an injected loader.

The model is trained on the shared simulated practice (600 claims) with a small capacity, so that every
test runs in well under a second; the registry tests log it to a temporary MLflow store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from claims.model import Claim
from claims.simulate.engine import SimulationResult
from features.model import DenialModel
from serving import LoadedModel, ModelInfo, Settings, create_app, hash_api_key

KEY = "test-key-0123456789"
SALT = "test-salt"


@pytest.fixture(scope="session")
def serving_model(small_practice: tuple[SimulationResult, Path]) -> DenialModel:
    from training.dataset import load_dataset, split_by_time

    _, folder = small_practice
    frame = load_dataset(folder).frame
    split = split_by_time(frame, validation_fraction=0.15, test_fraction=0.2)
    model = DenialModel(
        n_estimators=60,
        num_leaves=7,
        max_depth=3,
        min_child_samples=20,
        min_code_count=5,
        reason_estimators=30,
        n_jobs=1,
    )
    return model.fit(frame[split.train], eval_frame=frame[split.validation])


def model_info(model: DenialModel, version: str = "7") -> ModelInfo:
    return ModelInfo(
        name="test-model",
        version=version,
        alias="champion",
        run_id="run-" + version,
        uri="models:/test-model@champion",
        source="registry",
        loaded_at=dt.datetime.now(dt.UTC).isoformat(),
        training_period={"train_until": "2025-01-01"},
        metrics={"model.roc_auc": 0.8},
        features=len(model.feature_names_),
        trees=int(model.booster_.num_trees()),
    )


@pytest.fixture
def loader(serving_model: DenialModel) -> Callable[[Settings], LoadedModel]:
    return lambda settings: LoadedModel(serving_model, model_info(serving_model))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        api_key_hashes=(hash_api_key(KEY),),
        id_salt=SALT,
        prediction_log_url=f"sqlite:///{tmp_path / 'predictions.db'}",
        model_cache=tmp_path / "cache",
        max_body_bytes=200_000,
        max_claims_per_request=50,
    )


@pytest.fixture
def app(settings: Settings, loader: Callable[[Settings], LoadedModel]) -> FastAPI:
    return create_app(settings, loader=loader)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, headers={"X-API-Key": KEY}) as test_client:
        yield test_client


def claim_json(claim: Claim) -> dict[str, Any]:
    """A claim as a JSON request fragment (what a billing system sends)."""
    data: dict[str, Any] = claim.model_dump(mode="json")
    return data


@pytest.fixture(scope="session")
def simulated_claims(small_practice: tuple[SimulationResult, Path]) -> SimulationResult:
    return small_practice[0]


def save_model_folder(model: DenialModel, folder: Path) -> Path:
    """The model as an MLflow model folder (what `--model FOLDER` and DENIALS_MODEL_URI accept)."""
    import warnings

    import mlflow

    # MLflow warns about the pickle format and untyped hints when saving; neither matters for a test model.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(model, str(folder), serialization_format="cloudpickle")
    return folder
