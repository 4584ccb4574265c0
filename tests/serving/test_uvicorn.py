"""A real uvicorn process on localhost, started with `denials serve`: scoring, auth, limits, reload under load."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from claims.samples import make_claim
from features.model import DenialModel
from serving import hash_api_key
from tests.serving.conftest import KEY, claim_json, save_model_folder
from training.cli import app as cli

GOLDEN = Path(__file__).parent.parent / "data" / "x12" / "golden" / "office_nsclc_carbo_pem_pembro.837p"
DENIALS = Path(sys.executable).parent / "denials"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path, serving_model: DenialModel) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    folder = save_model_folder(serving_model, tmp_path / "model")
    port = _free_port()
    env = {
        **os.environ,
        "DENIALS_API_KEY_HASHES": hash_api_key(KEY),
        "DENIALS_ID_SALT": "uvicorn-test",
        "DENIALS_PREDICTION_LOG_URL": f"sqlite:///{tmp_path / 'predictions.db'}",
        "DENIALS_MAX_BODY_BYTES": "100000",
    }
    # The server's output goes to a file: a pipe nobody reads until the end fills up (64 KB, a few hundred
    # log lines under load) and then blocks the server's logging, and with it the server.
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(DENIALS), "serve", "--port", str(port), "--model", str(folder)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("the service did not become ready within 120 s")
        yield url, process, log
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_real_server(server: tuple[str, subprocess.Popen[bytes], Path]) -> None:
    url, process, log = server
    headers = {"X-API-Key": KEY}
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        scored = client.post(
            "/v1/x12/837/score",
            content=GOLDEN.read_bytes(),
            headers={**headers, "Content-Type": "application/edi-x12"},
        )
        assert scored.status_code == 200 and len(scored.json()["claims"][0]["lines"]) == 11
        assert client.post("/v1/claims/score", json={}).status_code == 401
        assert client.post("/v1/claims/score", json={}, headers={"X-API-Key": "wrong"}).status_code == 403
        big = client.post(
            "/v1/x12/837/score", content=b"x" * 200_000, headers={**headers, "Content-Type": "text/plain"}
        )
        assert big.status_code == 413
        # Reload under load: every request in flight answers 200.
        body = {"claim": claim_json(make_claim("office_folfox_bev_dependent")), "authorizations": []}
        statuses: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=url, timeout=30, headers=headers) as own:
                while not stop.is_set():
                    statuses.append(own.post("/v1/claims/score", json=body).status_code)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        for _ in range(3):
            assert client.post("/v1/model/reload", headers=headers).status_code == 200
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        assert len(statuses) > 10 and set(statuses) == {200}
        assert client.get("/readyz").json()["reloads"] == 3
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    output = log.read_text()
    assert "POST /v1/claims/score 200" in output
    patient = make_claim("office_folfox_bev_dependent").patient
    assert patient.last_name not in output and patient.member_id not in output


def test_serve_refuses_unsafe_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DENIALS_API_KEY_HASHES", "DENIALS_DEMO", "DENIALS_HOST"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--port", "9"])
    assert result.exit_code == 2 and "no API keys configured" in result.output
    result = runner.invoke(cli, ["serve", "--demo", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2 and "loopback" in result.output
