"""No PHI in logs or error bodies: a run over simulated claims, good and bad, scanned for the patients'
names, member ids and birth dates."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from claims.model import Claim
from claims.simulate.engine import SimulationResult
from claims.x12 import write_837
from serving.dependencies import get_scorer
from tests.serving.conftest import KEY, claim_json


def _phi(claims: list[Claim]) -> set[str]:
    found: set[str] = set()
    for claim in claims:
        for person in (claim.patient, claim.subscriber):
            if person is None:
                continue
            found |= {person.member_id, person.last_name, person.birth_date.isoformat()}
            found.add(person.birth_date.strftime("%Y%m%d"))
            if person.first_name:
                found.add(person.first_name)
    return {value for value in found if len(value) >= 4}


class LeakyScorer:
    """Fails with patient data in the exception message: the 500 must not show or log it."""

    predictor = "leaky"

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def score(self, claims: Any, **kwargs: Any) -> Any:
        raise ValueError(f"patient {self.secret} broke the scorer")

    def probe(self) -> bool:
        return True


def test_no_phi_in_logs_or_error_bodies(
    app: FastAPI, simulated_claims: SimulationResult, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    first_of_each: dict[str, Claim] = {}
    for claim in simulated_claims.claims:
        first_of_each.setdefault(claim.patient.member_id, claim)
    claims = list(first_of_each.values())[:25]
    phi = _phi(claims)
    assert len(phi) > 80
    bodies: list[str] = []
    caplog.set_level(logging.DEBUG)
    with TestClient(app, headers={"X-API-Key": KEY}) as client:

        def post(path: str, **kwargs: Any) -> None:
            response = client.post(path, **kwargs)
            assert response.status_code < 500 or path == "/v1/claims/score", response.text
            bodies.append(response.text)

        for claim in claims:
            good = claim_json(claim)
            post("/v1/claims/score", json={"claim": good, "authorizations": []})
            post("/v1/claims/audit", json={"claim": good})
            # Bad values in the patient's own fields and elsewhere: 422s with field paths only.
            for field, value in [("birth_date", "31/02/1950"), ("last_name", ""), ("member_id", 12.5)]:
                bad = claim_json(claim)
                bad["patient"][field] = value
                post("/v1/claims/score", json={"claim": bad})
            bad = claim_json(claim)
            bad["lines"][0]["service_date"] = "1900-01-01"
            post("/v1/claims/score", json={"claim": bad})
        x12 = write_837(claims, created=dt.datetime(2026, 1, 5, 9, 30))
        post("/v1/x12/837/score", content=x12.encode(), headers={"Content-Type": "application/edi-x12"})
        broken = x12.replace("~CLM*", "~CLM*~", 3)  # claims x12 cannot read: errors with segment positions
        post("/v1/x12/837/score", content=broken.encode(), headers={"Content-Type": "application/edi-x12"})
        post(
            "/v1/x12/837/score", content=x12[: len(x12) // 2].encode(), headers={"Content-Type": "text/plain"}
        )
        secret = claims[0].patient.last_name
        app.dependency_overrides[get_scorer] = lambda: LeakyScorer(secret)
        response = client.post("/v1/claims/score", json={"claim": claim_json(claims[0])})
        assert response.status_code == 500
        bodies.append(response.text)
        app.dependency_overrides.clear()
        assert app.state.prediction_log.flush()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "scored 1 claims" in logged and "unexpected ValueError" in logged
    database = b"".join(p.read_bytes() for p in tmp_path.glob("predictions.db*"))
    assert len(bodies) > 150 and database
    for value in sorted(phi):
        assert all(value not in body for body in bodies), f"PHI in an error body: {value!r}"
        assert value not in logged, f"PHI in the logs: {value!r}"
        assert value.encode() not in database, f"PHI in the prediction log: {value!r}"
