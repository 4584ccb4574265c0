"""Reloading the model while requests are in flight fails none of them; a failed reload keeps serving."""

from __future__ import annotations

import gc
import itertools
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claims.samples import make_claim
from features.model import DenialModel
from serving import LoadedModel, ModelLoadError, Settings, create_app, lifecycle
from tests.serving.conftest import KEY, claim_json, model_info


def test_reload_under_load(settings: Settings, serving_model: DenialModel) -> None:
    versions = itertools.count(1)
    loader: Callable[[Settings], LoadedModel] = lambda s: LoadedModel(  # noqa: E731
        serving_model, model_info(serving_model, version=str(next(versions)))
    )
    body = {"claim": claim_json(make_claim("office_folfox_bev_dependent")), "authorizations": []}
    statuses: list[int] = []
    seen: set[str] = set()
    with TestClient(create_app(settings, loader=loader), headers={"X-API-Key": KEY}) as client:
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                response = client.post("/v1/claims/score", json=body)
                statuses.append(response.status_code)
                seen.add(response.json().get("model", ""))

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for _ in range(5):
            assert client.post("/v1/model/reload").status_code == 200
        stop.set()
        for thread in threads:
            thread.join()
        assert client.get("/v1/model").json()["version"] == "6"
    assert statuses and set(statuses) == {200}
    assert len(seen) >= 2


def test_failed_reload_keeps_the_current_model(
    settings: Settings, serving_model: DenialModel, tmp_path: Path
) -> None:
    calls = itertools.count()

    def loader(s: Settings) -> LoadedModel:
        if next(calls) > 0:
            raise ModelLoadError("the registry did not give the model (test)")
        return LoadedModel(serving_model, model_info(serving_model))

    with TestClient(create_app(settings, loader=loader), headers={"X-API-Key": KEY}) as client:
        response = client.post("/v1/model/reload")
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert client.get("/v1/model").json()["version"] == "7"
        ready = client.get("/readyz").json()
        assert ready["failed_reloads"] == 1 and "test" in ready["last_reload_error"]
        assert client.post("/v1/claims/score", json={"claim": claim_json(make_claim())}).status_code == 200


def test_periodic_check_reloads_a_new_champion(settings: Settings, serving_model: DenialModel) -> None:
    registry = {"version": "1"}

    def loader(s: Settings) -> LoadedModel:
        return LoadedModel(serving_model, model_info(serving_model, version=registry["version"]))

    watched = settings.model_copy(update={"reload_interval_s": 0.05})
    app = create_app(watched, loader=loader, version_check=lambda s: registry["version"])
    with TestClient(app, headers={"X-API-Key": KEY}) as client:
        assert client.get("/v1/model").json()["version"] == "1"
        registry["version"] = "2"
        deadline = time.monotonic() + 20
        while client.get("/v1/model").json()["version"] != "2":
            assert time.monotonic() < deadline, "the new champion was not picked up"
            time.sleep(0.05)
        assert client.get("/readyz").json()["reloads"] == 1


def test_the_model_in_use_is_frozen_and_a_replaced_one_is_freed(
    settings: Settings, serving_model: DenialModel
) -> None:
    """The loaded model is moved out of the collector's generations (no ~0.2 s full collections under
    load), and reloading still lets the model it replaced go."""
    versions = itertools.count(1)
    loader: Callable[[Settings], LoadedModel] = lambda s: LoadedModel(  # noqa: E731
        serving_model, model_info(serving_model, version=str(next(versions)))
    )
    app = create_app(settings, loader=loader)
    with TestClient(app, headers={"X-API-Key": KEY}) as client:
        first = weakref.ref(app.state.models.current)
        assert gc.get_freeze_count() > 0
        assert client.post("/v1/model/reload").status_code == 200
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert first() is None
        assert client.get("/v1/model").json()["version"] == "2"
        assert client.post("/v1/claims/score", json={"claim": claim_json(make_claim())}).status_code == 200


def test_a_reload_is_counted_by_the_time_its_model_is_seen(
    settings: Settings, serving_model: DenialModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heap settling after a swap takes a while; a request during it that sees the new model must
    also see the reload counted (CI once read version 2 with 0 reloads)."""
    versions = itertools.count(1)
    loader: Callable[[Settings], LoadedModel] = lambda s: LoadedModel(  # noqa: E731
        serving_model, model_info(serving_model, version=str(next(versions)))
    )
    app = create_app(settings, loader=loader)
    seen_while_settling: list[tuple[str, int]] = []
    settle = lifecycle._settle_heap

    def observed_settle(full: bool) -> None:
        slot = app.state.models
        seen_while_settling.append((slot.current.info.version, slot.reloads))
        settle(full=full)

    monkeypatch.setattr(lifecycle, "_settle_heap", observed_settle)
    with TestClient(app, headers={"X-API-Key": KEY}) as client:
        assert client.post("/v1/model/reload").status_code == 200
    assert seen_while_settling == [("1", 0), ("2", 1)]
