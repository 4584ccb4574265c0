"""A real uvicorn process on localhost, started with `denials serve`: scoring, auth, limits, reload under load."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from claims.samples import make_claim
from features.model import DenialModel
from serving import hash_api_key
from serving.server import reuse_port_supported
from tests.serving.conftest import KEY, claim_json, save_model_folder
from training.cli import app as cli

GOLDEN = Path(__file__).parent.parent / "data" / "x12" / "golden" / "office_nsclc_carbo_pem_pembro.837p"
DENIALS = Path(sys.executable).parent / "denials"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(
    tmp_path: Path, serving_model: DenialModel, *options: str
) -> tuple[str, subprocess.Popen[bytes], Path]:
    """``denials serve`` on a free port, its output in a file, once ``/readyz`` answers."""
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
            [str(DENIALS), "serve", "--port", str(port), "--model", str(folder), *options],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    if not _until(ready):
        _stop(process)
        pytest.fail("the service did not become ready within 120 s")
    return url, process, log


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def server(tmp_path: Path, serving_model: DenialModel) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    url, process, log = _start(tmp_path, serving_model)
    try:
        yield url, process, log
    finally:
        _stop(process)


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
    # `denials serve` passes its options to the workers through the environment: set-then-delete makes
    # monkeypatch restore every variable it may write, so none leaks into the tests that run after.
    for name in ("API_KEY_HASHES", "DEMO", "DEMO_KEY", "HOST", "PORT", "MODEL_URI", "TRACKING_URI"):
        monkeypatch.setenv(f"DENIALS_{name}", "")
        monkeypatch.delenv(f"DENIALS_{name}")
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--port", "9"])
    assert result.exit_code == 2 and "no API keys configured" in result.output
    result = runner.invoke(cli, ["serve", "--demo", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2 and "loopback" in result.output


def _listening(port: int) -> int:
    """Listening TCP sockets on ``port`` (Linux: /proc/net/tcp and tcp6)."""
    count = 0
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if table.exists():
            for row in table.read_text().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                count += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def _workers(pid: int) -> set[int]:
    """Live uvicorn worker processes of the supervisor ``pid`` (spawned children; not its resource tracker,
    not zombies)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            command = (stat.parent / "cmdline").read_bytes()
            if int(parent) == pid and state != "Z" and b"spawn_main" in command:
                found.add(int(stat.parent.name))
    return found


def _until(condition: Callable[[], bool], seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


@pytest.mark.slow
@pytest.mark.skipif(
    not reuse_port_supported(), reason="a listening socket per worker needs Linux SO_REUSEPORT"
)
def test_each_worker_listens_on_its_own_socket(tmp_path: Path, serving_model: DenialModel) -> None:
    """With --workers 2, each worker has its own listening socket (the kernel spreads connections over them,
    instead of the first worker to wake taking a whole burst); a worker that dies is replaced with one."""
    url, process, log = _start(tmp_path, serving_model, "--workers", "2")
    port = int(url.rsplit(":", 1)[1])
    try:
        assert _until(lambda: _listening(port) == 2), log.read_text()
        for _ in range(6):  # a new connection each time
            response = httpx.post(f"{url}/v1/claims/score", json={"claim": claim_json(make_claim())},
                                  headers={"X-API-Key": KEY}, timeout=30)  # fmt: skip
            assert response.status_code == 200
        # A second service on the same address is refused, not let in to share the connections.
        second = subprocess.run(
            [
                str(DENIALS),
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                "--model",
                str(tmp_path / "model"),
            ],
            env={**os.environ, "DENIALS_API_KEY_HASHES": hash_api_key(KEY), "DENIALS_ID_SALT": "other"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1 and "cannot listen" in second.stderr
        workers = _workers(process.pid)
        assert len(workers) == 2
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        assert _until(lambda: len(_workers(process.pid) - workers) == 1 and _listening(port) == 2), (
            log.read_text()
        )
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    finally:
        _stop(process)
    assert "a listening socket each" in log.read_text()
