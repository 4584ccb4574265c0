"""The model store: registry alias -> cache -> loaded and checked; the cache when the registry is down."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claims.simulate.engine import SimulationResult
from features.model import DenialModel
from serving import (
    FeatureSchemaMismatch,
    ModelLoadError,
    Settings,
    check_feature_schema,
    create_app,
    hash_api_key,
    load_model,
)
from serving.model_store import registry_version
from tests.serving.conftest import KEY, claim_json, save_model_folder

NAME = "oncology-denials"
URI = f"models:/{NAME}@champion"


def _register(model: DenialModel, folder: Path, data: Path) -> str:
    """Log ``model`` the way training does and make it champion; returns the version."""
    import pandas as pd

    from features.builder import INPUT_COLUMNS
    from training import tracking
    from training.dataset import load_dataset

    uri = tracking.configure(f"sqlite:///{folder / 'mlflow.db'}", folder)
    report = folder / "report"
    report.mkdir(exist_ok=True)
    (report / "metrics.json").write_text("{}")
    example = load_dataset(data).frame.head(5)[list(INPUT_COLUMNS)]
    assert isinstance(example, pd.DataFrame)
    registered = tracking.log_training_run(
        model,
        model_name=NAME,
        config={},
        params={"split.validation_start": "2025-01-01", "split.test_start": "2025-06-01"},
        metrics={"model.roc_auc": 0.81, "model.ece": 0.02, "ignored.metric": 1.0},
        artifacts=report,
        input_example=example,
        tags={"test_end": "2025-12-31"},
    )
    tracking.promote(NAME, registered.version)
    assert uri
    return registered.version


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory,
    serving_model: DenialModel,
    small_practice: tuple[SimulationResult, Path],
) -> str:
    folder = tmp_path_factory.mktemp("mlflow")
    _register(serving_model, folder, small_practice[1])
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.mark.slow
def test_registry_then_cache(registry: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    loaded = load_model(URI, tracking_uri=registry, cache=cache)
    info = loaded.info
    assert (info.name, info.version, info.alias, info.source) == (NAME, "1", "champion", "registry")
    assert info.run_id and info.metrics == {"model.roc_auc": 0.81, "model.ece": 0.02}
    assert (
        info.training_period["test_from"] == "2025-06-01" and info.training_period["test_to"] == "2025-12-31"
    )
    assert (cache / NAME / f"v1-{info.run_id}" / "MLmodel").is_file() and (
        cache / NAME / "champion.json"
    ).is_file()
    assert registry_version(URI, tracking_uri=registry) == "1"
    # The registry is unreachable: the cached copy serves, and says so.
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'mlflow.db'}"
    cached = load_model(URI, tracking_uri=unreachable, cache=cache)
    assert cached.info.source == "cache" and cached.info.version == "1"
    assert cached.info.note and "cached version 1" in cached.info.note
    settings = Settings(
        api_key_hashes=(hash_api_key(KEY),),
        id_salt="s",
        model_uri=URI,
        tracking_uri=unreachable,
        model_cache=cache,
        prediction_log_url="",
    )
    with TestClient(create_app(settings), headers={"X-API-Key": KEY}) as client:
        ready = client.get("/readyz").json()
        assert ready["from_cache"] is True and "registry" in ready["note"]
        assert client.get("/v1/model").json()["source"] == "cache"
    # No cache either: a clear error.
    with pytest.raises(ModelLoadError, match="no copy of it is cached"):
        load_model(URI, tracking_uri=unreachable, cache=tmp_path / "empty")


@pytest.mark.slow
def test_a_shared_cache_tells_two_registries_versions_apart(
    registry: str, serving_model: DenialModel, small_practice: tuple[SimulationResult, Path], tmp_path: Path
) -> None:
    """Version 1 of another registry (another practice, a rebuilt store) is another model: the cache
    must not hand back the first registry's copy."""
    other = copy.deepcopy(serving_model)
    other.best_iteration_ = max(1, serving_model.best_iteration_ // 2)  # a different model, same schema
    folder = tmp_path / "other"
    folder.mkdir()
    _register(other, folder, small_practice[1])
    cache = tmp_path / "cache"
    first = load_model(URI, tracking_uri=registry, cache=cache)
    second = load_model(URI, tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", cache=cache)
    assert first.info.version == second.info.version == "1" and first.info.run_id != second.info.run_id
    assert first.model.best_iteration_ == serving_model.best_iteration_
    assert second.model.best_iteration_ == other.best_iteration_


@pytest.mark.slow
def test_folder_and_schema_checks(serving_model: DenialModel, tmp_path: Path) -> None:
    folder = save_model_folder(serving_model, tmp_path / "model")
    loaded = load_model(str(folder))
    assert loaded.info.source == "path" and loaded.info.features == len(serving_model.feature_names_)
    stale = copy.deepcopy(serving_model)
    stale.builder_.specs_ = stale.builder_.specs_[:-1]
    with pytest.raises(FeatureSchemaMismatch, match="retrain"):
        check_feature_schema(stale, "the stale model")
    with pytest.raises(FeatureSchemaMismatch, match="not a denial model"):
        check_feature_schema(object(), "an object")
    with pytest.raises(FeatureSchemaMismatch, match="never fitted"):
        check_feature_schema(DenialModel(), "an unfitted model")
    with pytest.raises(ModelLoadError):
        load_model(str(tmp_path / "empty-folder-that-is-not-there"))


@pytest.mark.slow
def test_new_champion_is_reloaded_without_restart(
    registry: str, serving_model: DenialModel, small_practice: tuple[SimulationResult, Path], tmp_path: Path
) -> None:
    from claims.samples import make_claim

    settings = Settings(
        api_key_hashes=(hash_api_key(KEY),),
        id_salt="s",
        model_uri=URI,
        tracking_uri=registry,
        model_cache=tmp_path / "cache",
        prediction_log_url="",
    )
    with TestClient(create_app(settings), headers={"X-API-Key": KEY}) as client:
        before = client.get("/v1/model").json()["version"]
        folder = Path(registry.removeprefix("sqlite:///")).parent
        new_version = _register(serving_model, folder, small_practice[1])
        assert new_version != before
        response = client.post("/v1/model/reload")
        assert response.status_code == 200 and response.json()["changed"] is True
        assert client.get("/v1/model").json()["version"] == new_version
        scored = client.post("/v1/claims/score", json={"claim": claim_json(make_claim())})
        assert scored.json()["model"] == f"{NAME} version {new_version}"
