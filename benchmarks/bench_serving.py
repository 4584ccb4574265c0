"""Scoring speed: in-process, over HTTP against ``mlflow models serve``, and batch (``denials score``).

    python benchmarks/bench_serving.py --model URI_OR_FOLDER [--tracking-uri URI] [--calls 10000]
        [--http-seconds 10] [--http-rounds 3] [--workers 2] [--load-generator python|wrk]
        [--batch-lines 1000000] [--no-compiled] [--workdir DIR] [--json OUT] [--quiet]

Three measurements, each against a reference measured in the same run (the machine is shared and noisy):

* **in-process**: one 10-line simulated claim with at least one fixable finding, scored by
  :class:`serving.ModelScorer` with explanations and fixes (audit, features, prediction, exact TreeSHAP
  on the lines that matter, every fix re-audited and re-scored), ``--calls`` times; the floor is the bare
  ``Booster.predict`` of the same 10 feature rows (one thread), timed in alternating blocks of 50 calls.
  Also the p50 of the same call without fixes and without explanations, to show where the time goes.
* **HTTP**: the service (``denials serve --workers W``) scoring that claim as JSON with explanations and
  fixes, against ``mlflow models serve`` (same model folder, same worker count) scoring the same 10 rows
  (their feature-builder inputs, audit context precomputed) without explanations. A second process
  (this script with ``--load-child``: asyncio + httpx; or, with ``--load-generator wrk``, ``wrk`` with one
  thread and one connection per request in flight) keeps 1, then 16 requests in flight for
  ``--http-seconds``, in ``--http-rounds`` rounds that alternate which server goes first; medians over
  the rounds of p50/p99 latency and claims per second, and the median of the rounds' claims/s ratios.
  The Python generator spends ~1 ms of CPU a request on the same 2 cores as the servers; wrk (C) much
  less, so its figures are closer to what the servers alone can do.
* **batch**: ``denials score`` on a ``--batch-lines`` Parquet line table (a simulated practice's
  ``lines.parquet`` repeated with distinct claim ids), without explanations (``--explain none
  --no-fixes``) and with them (``--explain auto``, fixes); lines per second of the whole command.

Plain predictions use the trees compiled by lleaves (``serving.compiled``) unless ``--no-compiled``; the
compile (or the load of its cache) is timed once at the start and reported, and the server and the batch
command then find the native code in the work folder's cache. The in-process floor stays LightGBM's own
``Booster.predict``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main"]

KEY = "bench-key"
VENV_BIN = Path(sys.executable).parent


def _percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 4),
        "p99_ms": round(float(np.percentile(ms, 99)), 4),
        "mean_ms": round(float(ms.mean()), 4),
        "n": len(ms),
    }


def _say(quiet: bool, *parts: object) -> None:
    if not quiet:
        print(*parts, file=sys.stderr, flush=True)


# --- the claim ---------------------------------------------------------------------------------------------


def _pick_claim(seed: int) -> tuple[Any, list[Any]]:
    """A simulated claim cut to 10 lines, with at least one finding that carries a fix."""
    from claims.simulate import SimulationConfig, simulate_practice
    from features.context import annotate_claims

    result = simulate_practice(SimulationConfig(claims=600, seed=seed))
    for claim in result.claims:
        if len(claim.lines) < 10:
            continue
        cut = claim.model_copy(update={"lines": claim.lines[:10]})
        auths = [a for a in result.authorizations if a.member_id == claim.patient.member_id]
        _, [findings] = annotate_claims([cut], authorizations=auths)
        if any(f.fix is not None for f in findings):
            return cut, auths
    raise SystemExit("no 10-line claim with a fixable finding in the simulated practice")


# --- in-process --------------------------------------------------------------------------------------------


def _in_process(scorer: Any, claim: Any, auths: list[Any], calls: int) -> dict[str, Any]:
    from features.context import payers_by_id

    model = scorer.model
    matrix, _ = model.claim_matrix([claim], authorizations=auths, payers=payers_by_id())
    booster, iterations = model.booster_, model.best_iteration_

    def floor() -> None:
        booster.predict(matrix, num_iteration=iterations, num_threads=1)

    def ours() -> None:
        scorer.score([claim], authorizations=auths)

    for _ in range(200):
        floor()
        ours()
    times: dict[str, list[float]] = {"floor": [], "ours": []}
    block = 50
    for start in range(0, calls, block):
        order = (
            (("floor", floor), ("ours", ours))
            if (start // block) % 2 == 0
            else (("ours", ours), ("floor", floor))
        )
        for name, function in order:
            for _ in range(min(block, calls - start)):
                t = time.perf_counter()
                function()
                times[name].append(time.perf_counter() - t)
    parts: dict[str, dict[str, float]] = {}
    for name, kwargs in {
        "no_explanations_no_fixes": {"explain": "none", "fixes": False},
        "explanations_no_fixes": {"explain": "auto", "fixes": False},
    }.items():
        samples = []
        for _ in range(min(calls, 2000)):
            t = time.perf_counter()
            scorer.score([claim], authorizations=auths, **kwargs)
            samples.append(time.perf_counter() - t)
        parts[name] = _percentiles(samples)
    [result] = scorer.score([claim], authorizations=auths)
    floor_p, ours_p = _percentiles(times["floor"]), _percentiles(times["ours"])
    return {
        "claim": {
            "lines": len(claim.lines),
            "findings": len(result.findings),
            "fixes_rescored": len(result.fixes),
            "lines_explained": sum(line.reasons is not None for line in result.lines),
        },
        "floor_booster_predict": floor_p,
        "ours_explained_with_fixes": ours_p,
        "ratio_p50": round(ours_p["p50_ms"] / floor_p["p50_ms"], 1),
        "ratio_p99": round(ours_p["p99_ms"] / floor_p["p99_ms"], 1),
        "breakdown_p50_ms": {k: v["p50_ms"] for k, v in parts.items()}
        | {"explanations_and_fixes": ours_p["p50_ms"]},
    }


# --- HTTP --------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, workers: int, timeout: float = 180) -> None:
    """Until ``url`` answers 200 *and* the server's log shows every worker's start-up complete: the first
    worker answers while the others still load the model, and a load started then puts every connection
    on the first worker for the whole run (half the claims a second)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode} before answering {url}")
        try:
            answered = httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            answered = False
        started = log.read_text(errors="replace").count("Application startup complete")
        if answered and started >= workers:
            return
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer with {workers} workers started within {timeout:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    # Each server was started in its own session: signal that group only (it holds the uvicorn workers).
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


_WRK_SCRIPT = """\
wrk.method = "POST"
local file = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.body = file:read("*a")
file:close()
for name, value in string.gmatch(os.getenv("BENCH_HEADERS"), "([^\\n:]+): ([^\\n]+)") do
  wrk.headers[name] = value
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %.1f %.1f %.1f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99),
    latency.mean))
end
"""


def _wrk(
    url: str, payload: Path, headers: dict[str, str], concurrency: int, seconds: float
) -> dict[str, Any]:
    """``wrk`` (one thread, ``concurrency`` connections) in place of the Python load generator. Its latency
    percentiles come from its own histogram (microseconds); a non-2xx answer counts as an error."""
    script = payload.parent / "bench.lua"
    script.write_text(_WRK_SCRIPT)
    env = {**os.environ, "BENCH_BODY": str(payload),
           "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items())}  # fmt: skip
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds:g}s",
        "--timeout",
        "60s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    [line] = [x for x in done.stdout.splitlines() if x.startswith("BENCH ")]
    requests, duration_us, errors, p50, p99, mean = (float(x) for x in line.split()[1:])
    ok = requests - errors
    return {
        "p50_ms": round(p50 / 1000, 4),
        "p99_ms": round(p99 / 1000, 4),
        "mean_ms": round(mean / 1000, 4),
        "n": int(ok),
        "claims_per_s": round(ok / (duration_us / 1e6), 1),
        "errors": int(errors),
        "concurrency": concurrency,
    }


def _load(
    url: str,
    payload: Path,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    generator: str = "python",
) -> dict[str, Any]:
    """Run the load generator in a second process and return its figures."""
    if generator == "wrk":
        return _wrk(url, payload, headers, concurrency, seconds)
    command = [
        sys.executable,
        __file__,
        "--load-child",
        json.dumps(
            {
                "url": url,
                "payload": str(payload),
                "headers": headers,
                "concurrency": concurrency,
                "seconds": seconds,
            }
        ),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def _generate(
    url: str, body: bytes, headers: dict[str, str], concurrency: int, seconds: float
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # httpx writes a request's headers and body separately: without TCP_NODELAY, Nagle's algorithm holds
    # the body until the server's delayed ACK (~40 ms on Linux), which is the client's delay, not the server's.
    transport = httpx.AsyncHTTPTransport(
        limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    )
    async with httpx.AsyncClient(transport=transport, timeout=60) as client:
        for _ in range(3):  # warm-up
            await client.post(url, content=body, headers=headers)
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                t = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - t)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        **_percentiles(latencies),
        "claims_per_s": round(len(latencies) / elapsed, 1),
        "errors": errors,
        "concurrency": concurrency,
    }


def _median_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds of one load (each round's figures kept under ``rounds``)."""
    out: dict[str, Any] = {
        key: round(statistics.median(r[key] for r in runs), 4)
        for key in ("p50_ms", "p99_ms", "mean_ms", "claims_per_s")
    }
    out.update(n=sum(r["n"] for r in runs), errors=sum(r["errors"] for r in runs), rounds=list(runs))
    out["concurrency"] = runs[0]["concurrency"]
    return out


def _http(
    folder: Path,
    claim: Any,
    auths: list[Any],
    workdir: Path,
    workers: int,
    seconds: float,
    quiet: bool,
    repeats: int = 3,
    generator: str = "python",
    compiled: bool = True,
) -> dict[str, Any]:
    import pandas as pd

    from claims.ingest import submitted_columns
    from features.builder import INPUT_COLUMNS
    from features.context import annotate_claims
    from serving import hash_api_key

    ours_body = workdir / "claim.json"
    ours_body.write_text(
        json.dumps(
            {
                "claim": claim.model_dump(mode="json"),
                "authorizations": [a.model_dump(mode="json") for a in auths],
            }
        )
    )
    columns: dict[str, Any] = submitted_columns([claim], salt="")
    context, _ = annotate_claims([claim], authorizations=auths)
    columns.update(context)
    frame = pd.DataFrame({c: columns[c] for c in INPUT_COLUMNS})
    mlflow_body = workdir / "rows.json"
    mlflow_body.write_text(
        json.dumps(
            {"dataframe_split": json.loads(frame.to_json(orient="split", date_format="iso", index=False))}
        )
    )
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DENIALS_API_KEY_HASHES": hash_api_key(KEY),
        "DENIALS_ID_SALT": "bench",
        "DENIALS_PREDICTION_LOG_URL": f"sqlite:///{workdir / 'predictions.db'}",
        "DENIALS_QUEUE_TIMEOUT_S": "30",
        "DENIALS_MODEL_CACHE": str(workdir / "model-cache"),
        "DENIALS_COMPILED_TREES": str(compiled).lower(),
    }
    ours_port, mlflow_port = _free_port(), _free_port()

    commands = {
        "ours": [str(VENV_BIN / "denials"), "serve", "--port", str(ours_port), "--model", str(folder),
                 "--workers", str(workers)],
        "mlflow": [str(VENV_BIN / "mlflow"), "models", "serve", "-m", str(folder), "--env-manager", "local",
                   "-h", "127.0.0.1", "-p", str(mlflow_port), "-w", str(workers)],
    }  # fmt: skip
    logs = {name: workdir / f"{name}-server.log" for name in commands}
    servers = {}
    for name, command in commands.items():
        with logs[name].open("wb") as log:
            servers[name] = subprocess.Popen(command, env=env, cwd=workdir, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    out: dict[str, Any] = {
        "workers": workers, "seconds_per_run": seconds, "rounds": repeats, "load_generator": generator
    }  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{ours_port}/readyz", servers["ours"], logs["ours"], workers)
        _wait(f"http://127.0.0.1:{mlflow_port}/ping", servers["mlflow"], logs["mlflow"], workers)
        targets = {
            "ours_explained_with_fixes": (
                f"http://127.0.0.1:{ours_port}/v1/claims/score",
                ours_body,
                {"X-API-Key": KEY, "Content-Type": "application/json"},
            ),
            "mlflow_models_serve": (
                f"http://127.0.0.1:{mlflow_port}/invocations",
                mlflow_body,
                {"Content-Type": "application/json"},
            ),
        }
        for concurrency in (1, 16):
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
            ratios: list[float] = []
            for k in range(repeats):
                # Alternate which server goes first, so a slow spell of the machine hits both alike.
                order = list(targets) if k % 2 == 0 else list(reversed(targets))
                for name in order:
                    url, body, headers = targets[name]
                    _say(
                        quiet, f"HTTP {name}, {concurrency} in flight, round {k + 1}/{repeats}, {seconds:g} s"
                    )
                    rounds[name].append(_load(url, body, headers, concurrency, seconds, generator))
                ratios.append(
                    rounds["ours_explained_with_fixes"][-1]["claims_per_s"]
                    / max(rounds["mlflow_models_serve"][-1]["claims_per_s"], 1e-9)
                )
            runs: dict[str, Any] = {name: _median_run(found) for name, found in rounds.items()}
            runs["claims_per_s_ratio"] = round(statistics.median(ratios), 2)
            runs["claims_per_s_ratio_per_round"] = [round(r, 2) for r in ratios]
            out[f"in_flight_{concurrency}"] = runs
    finally:
        for process in servers.values():
            _stop(process)
    return out


# --- batch -------------------------------------------------------------------------------------------------


def _batch_input(lines: int, workdir: Path, seed: int) -> tuple[Path, Path]:
    import pandas as pd

    from claims.simulate import SimulationConfig, simulate_practice, write_simulation

    source = workdir / "practice"
    if not (source / "lines.parquet").is_file():
        write_simulation(simulate_practice(SimulationConfig(claims=4000, seed=seed)), source)
    base = pd.read_parquet(source / "lines.parquet")
    copies = -(-lines // len(base))
    parts = []
    for k in range(copies):
        part = base.copy()
        part["claim_id"] = part["claim_id"] + f"-{k}"
        parts.append(part)
    table = pd.concat(parts, ignore_index=True).head(lines)
    # Cut at a claim boundary so that every claim is whole.
    last = table["claim_id"].iloc[-1]
    table = table[table["claim_id"] != last] if len(table) < copies * len(base) else table
    path = workdir / f"lines-{len(table)}.parquet"
    table.to_parquet(path, row_group_size=50_000)
    return path, source / "authorizations.parquet"


def _batch(folder: Path, lines: int, workdir: Path, seed: int, quiet: bool, compiled: bool) -> dict[str, Any]:
    import pyarrow.parquet as pq

    table, auths = _batch_input(lines, workdir, seed)
    rows = pq.ParquetFile(table).metadata.num_rows
    out: dict[str, Any] = {"lines": rows}
    for name, flags in {
        "without_explanations": ["--explain", "none", "--no-fixes"],
        "with_explanations_and_fixes": ["--explain", "auto"],
    }.items():
        _say(quiet, f"batch {name}: {rows} lines")
        command = [
            str(VENV_BIN / "denials"),
            "score",
            str(table),
            "--out",
            str(workdir / f"{name}.parquet"),
            "--model",
            str(folder),
            "--authorizations",
            str(auths),
            "--cache",
            str(workdir / "model-cache"),
            "--compiled" if compiled else "--no-compiled",
            *flags,
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=workdir)
        seconds = time.perf_counter() - started
        out[name] = {"seconds": round(seconds, 1), "lines_per_s": round(rows / seconds)}
    return out


# --- main --------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    from serving import ModelScorer, load_model
    from serving.model_store import cached_folder

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-serving-"))
    workdir.mkdir(parents=True, exist_ok=True)
    loaded = load_model(args.model, tracking_uri=args.tracking_uri, cache=workdir / "model-cache")
    folder = (
        Path(args.model) if Path(args.model).is_dir() else cached_folder(workdir / "model-cache", loaded.info)
    )
    scorer = ModelScorer(loaded.model, loaded.info, salt="bench")
    compiled: dict[str, Any] = {"enabled": args.compiled}
    if args.compiled:
        # The first compile of a model on a machine takes seconds; later loads read the cached native code
        # (the server and the batch command below use this cache, so their figures are warm).
        cached = workdir / "model-cache" / "compiled"
        compiled["cached_before"] = cached.is_dir() and any(cached.glob("*.so"))
        started = time.perf_counter()
        scorer.use_compiled(cached)
        compiled["seconds"] = round(time.perf_counter() - started, 2)
    compiled["predictor"] = scorer.predictor
    claim, auths = _pick_claim(args.seed)
    result: dict[str, Any] = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "model": {
            "uri": args.model,
            "version": loaded.info.version,
            "trees": loaded.info.trees,
            "features": loaded.info.features,
            "num_leaves": loaded.model.num_leaves,
            "max_depth": loaded.model.max_depth,
        },
        "compiled_trees": compiled,
    }
    _say(args.quiet, f"in-process: {args.calls} calls")
    result["in_process"] = _in_process(scorer, claim, auths, args.calls)
    if args.http_seconds > 0:
        result["http"] = _http(
            folder, claim, auths, workdir, args.workers, args.http_seconds, args.quiet, args.http_rounds,
            args.load_generator, args.compiled,
        )  # fmt: skip
    if args.batch_lines > 0:
        result["batch"] = _batch(folder, args.batch_lines, workdir, args.seed, args.quiet, args.compiled)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models:/oncology-denials@champion")
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--http-seconds", type=float, default=10.0)
    parser.add_argument("--http-rounds", type=int, default=3, help="alternating rounds per load (medians)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--load-generator", choices=("python", "wrk"), default="python",
        help="python: asyncio + httpx in a second process; wrk: the wrk program (must be on PATH)",
    )  # fmt: skip
    parser.add_argument(
        "--compiled", action=argparse.BooleanOptionalAction, default=True,
        help="plain predictions by the trees compiled with lleaves (default), or LightGBM's own",
    )  # fmt: skip
    parser.add_argument("--batch-lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--json", dest="json_out", default=None)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--load-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_generator == "wrk" and shutil.which("wrk") is None:
        parser.error("--load-generator wrk: wrk is not on PATH (Debian: apt-get install wrk)")
    if args.load_child:
        spec = json.loads(args.load_child)
        body = Path(spec["payload"]).read_bytes()
        figures = asyncio.run(
            _generate(spec["url"], body, spec["headers"], spec["concurrency"], spec["seconds"])
        )
        print(json.dumps(figures))
        return figures
    result = run(args)
    text = json.dumps(result, indent=2)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    if not args.quiet:
        print(text)
    return result


if __name__ == "__main__":
    main()
