"""Every scored line is logged (hashed ids, WAL SQLite); a logging failure never fails a request."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from claims.ingest import hash_identifier
from claims.samples import make_claim
from serving import open_prediction_log
from tests.serving.conftest import KEY, SALT, claim_json


def test_scored_lines_are_logged_with_hashed_ids(client: TestClient, app: FastAPI, tmp_path: Path) -> None:
    claim = make_claim()
    response = client.post("/v1/claims/score", json={"claim": claim_json(claim), "authorizations": []})
    assert response.status_code == 200
    assert app.state.prediction_log.flush()
    with sqlite3.connect(tmp_path / "predictions.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = db.execute(
            "SELECT claim_key, patient_key, line_number, model_version, features_digest, probability, category,"
            " latency_ms, request_id FROM predictions ORDER BY line_number"
        ).fetchall()
    assert len(rows) == len(claim.lines)
    assert {r[0] for r in rows} == {hash_identifier(claim.claim_id, SALT)}
    assert {r[1] for r in rows} == {hash_identifier(claim.patient.member_id, SALT)}
    assert [r[2] for r in rows] == [line.line_number for line in claim.lines]
    probabilities = [line["denial_probability"] for line in response.json()["claims"][0]["lines"]]
    assert [round(r[5], 6) for r in rows] == probabilities
    assert all(r[3] == "7" and len(r[4]) == 16 and r[6] and r[7] > 0 for r in rows)
    assert rows[0][8] == response.headers["x-request-id"]
    text = (tmp_path / "predictions.db").read_bytes() + (tmp_path / "predictions.db-wal").read_bytes()
    assert claim.claim_id.encode() not in text and claim.patient.member_id.encode() not in text


def test_a_broken_log_is_counted_not_raised(client: TestClient, app: FastAPI, tmp_path: Path) -> None:
    body = {"claim": claim_json(make_claim()), "authorizations": []}
    assert client.post("/v1/claims/score", json=body).status_code == 200
    assert app.state.prediction_log.flush()
    with sqlite3.connect(tmp_path / "predictions.db") as db:
        db.execute("DROP TABLE predictions")
    response = client.post("/v1/claims/score", json=body)
    assert response.status_code == 200
    assert app.state.prediction_log.flush()
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["prediction_log"]["healthy"] is False and ready["prediction_log"]["failed_batches"] == 1
    assert ready["prediction_log"]["dropped"] == 11 and ready["prediction_log"]["written"] == 11
    assert "denials_prediction_log_failed_batches_total 1" in client.get("/metrics").text


def test_an_unopenable_log_still_serves(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    log = open_prediction_log(f"sqlite:///{tmp_path / 'file' / 'cannot.db'}")
    assert not log.enabled and not log.healthy and log.last_error
    log.append([])
    assert log.status()["dropped"] == 0


def test_the_log_survives_a_restart(app: FastAPI, tmp_path: Path) -> None:
    body = {"claim": claim_json(make_claim("hospital_outpatient_trial"))}
    for _ in range(2):  # two app lifetimes on the same file
        with TestClient(app, headers={"X-API-Key": KEY}) as client:
            assert client.post("/v1/claims/score", json=body).status_code == 200
    with sqlite3.connect(tmp_path / "predictions.db") as db:
        assert db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 10
