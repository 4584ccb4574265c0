"""Settings refuse unsafe values; every /v1 route needs a key (401 without, 403 with a wrong one)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from serving import Settings, hash_api_key
from serving.security import KeyChecker
from tests.serving.conftest import KEY


def test_no_keys_outside_demo_is_refused() -> None:
    with pytest.raises(ValidationError, match="no API keys configured"):
        Settings(id_salt="s")
    with pytest.raises(ValidationError, match="not a SHA-256"):
        Settings(api_key_hashes=("my-plain-key",), id_salt="s")
    with pytest.raises(ValidationError, match="no id salt"):
        Settings(api_key_hashes=(hash_api_key("k"),))


def test_demo_binds_to_loopback_only() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        Settings(demo=True, host="0.0.0.0")
    demo = Settings(demo=True).with_demo_key()
    assert demo.demo_key is not None and demo.accepted_key_hashes() == (
        hash_api_key(demo.demo_key.get_secret_value()),
    )
    assert Settings(demo=True, host="::1").host == "::1"


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    digests = [hash_api_key("a"), hash_api_key("b").upper()]
    monkeypatch.setenv("DENIALS_API_KEY_HASHES", f"{digests[0]}, {digests[1]}")
    monkeypatch.setenv("DENIALS_ID_SALT", "pepper")
    monkeypatch.setenv("DENIALS_MAX_CLAIMS_PER_REQUEST", "7")
    settings = Settings()
    assert settings.api_key_hashes == (digests[0], digests[1].lower())
    assert settings.max_claims_per_request == 7 and settings.salt() == "pepper"
    assert "pepper" not in repr(settings)


def test_key_checker_compares_digests() -> None:
    checker = KeyChecker([hash_api_key("right"), hash_api_key("other")])
    assert checker.accepts("right") and checker.accepts("other")
    assert not checker.accepts("wrong") and not checker.accepts("")


def test_every_v1_route_needs_a_key(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    routes = [
        (method.upper(), path) for path, item in paths.items() if path.startswith("/v1") for method in item
    ]
    assert {p for _, p in routes} >= {
        "/v1/claims/score",
        "/v1/x12/837/score",
        "/v1/claims/audit",
        "/v1/model",
    }
    with TestClient(app) as client:
        for method, path in routes:
            missing = client.request(method, path)
            assert missing.status_code == 401, path
            assert missing.headers["www-authenticate"] == "ApiKey"
            wrong = client.request(method, path, headers={"X-API-Key": "not-the-key"})
            assert wrong.status_code == 403, path
            assert wrong.headers["content-type"] == "application/problem+json"
        assert client.get("/v1/model", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert client.get("/v1/model", headers={"X-API-Key": KEY}).status_code == 200
        assert client.get("/healthz").status_code == 200
