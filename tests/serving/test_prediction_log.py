"""Every scored line is logged (hashed ids, WAL SQLite); a logging failure never fails a request."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from claims.ingest import hash_identifier
from claims.samples import make_claim
from serving import open_prediction_log
from serving.prediction_log import PREDICTIONS, LogRow, PredictionLog, metadata
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


def _row(number: int) -> LogRow:
    return LogRow(
        request_id="r1", claim_key="c" * 16, patient_key="p" * 16, line_number=number, procedure_code="J9271",
        payer_id="MEDICARE-A", model_name="oncology-denials", model_version="7", features_digest="d" * 16,
        probability=number / 10, category=None if number % 2 else "authorization",
        category_probability=None if number % 2 else 0.5, latency_ms=4.2,
    )  # fmt: skip


@pytest.mark.parametrize("paramstyle", ["qmark", "named", "numeric"])
def test_rows_are_written_with_the_dialects_own_parameters(tmp_path: Path, paramstyle: str) -> None:
    """The driver-level INSERT binds by position or by name, whatever the driver's style, and the
    dialect's own conversions apply: the timestamp reads back as the datetime it was."""
    log = PredictionLog(create_engine(f"sqlite:///{tmp_path / 'p.db'}", paramstyle=paramstyle))
    assert log.engine is not None
    metadata.create_all(log.engine)
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    log.append([_row(n) for n in range(1, 5)])
    assert log.flush()
    log.close()
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as connection:
        rows = connection.execute(select(PREDICTIONS).order_by(PREDICTIONS.c.line_number)).mappings().all()
    assert [r["line_number"] for r in rows] == [1, 2, 3, 4]
    assert [r["probability"] for r in rows] == [0.1, 0.2, 0.3, 0.4]
    assert [r["category"] for r in rows] == [None, "authorization", None, "authorization"]
    assert {(r["model_version"], r["payer_id"], r["request_id"]) for r in rows} == {("7", "MEDICARE-A", "r1")}
    assert all(isinstance(r["logged_at"], dt.datetime) and r["logged_at"] >= before for r in rows)
    assert log.status()["written"] == 4 and log.healthy
