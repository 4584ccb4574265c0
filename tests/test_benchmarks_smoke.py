"""The ingest benchmark runs end to end on a tiny input and returns its figures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ingest.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_ingest", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_ingest_main_small(tmp_path: Path) -> None:
    bench = _load_bench()
    out = tmp_path / "result.json"
    result = bench.main(
        ["--lines", "200", "--repeats", "1", "--workdir", str(tmp_path / "in"), "--json", str(out), "--quiet"]
    )

    assert json.loads(out.read_text()) == result
    assert result["input"]["lines"] >= 200
    assert result["input"]["total_mb"] > 0
    assert result["check"]["errors"] == 0
    assert result["check"]["matched_lines"] == result["input"]["lines"]
    for name in ("floor", "ours_read", "ours_full", "ours_table"):
        timing = result["timings"][name]
        assert timing["median_s"] > 0
        assert timing["mb_per_s"] > 0
        assert timing["lines_per_s"] > 0
    for key in ("ratio_read_to_floor", "ratio_full_to_floor"):
        assert result[key] > 0
    assert {"overhead_read_pct", "overhead_full_pct", "target_met", "command", "date"} <= result.keys()


BENCH_SIMULATE = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_simulate.py"


def test_bench_simulate_main_small(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_simulate", BENCH_SIMULATE)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "result.json"
    result = bench.main(["--lines", "300", "--repeats", "1", "--json", str(out), "--quiet"])

    assert json.loads(out.read_text()) == result
    assert result["input"]["lines"] > 100
    assert result["input"]["x12_files"] > 0
    for name in ("reference", "simulate", "tables", "write", "without_x12", "with_x12"):
        timing = result["timings"][name]
        assert timing["median_s"] > 0
        assert timing["lines_per_s"] > 0
        assert timing["ratio_to_reference"] > 0
    assert result["peak_mib"] > 0
    assert {"target_time_met", "target_memory_met", "command", "date"} <= result.keys()


BENCH_TRAINING = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_training.py"


def test_bench_training_features_phase_small(tmp_path: Path) -> None:
    """The feature phase runs on a tiny simulated practice and reports lines/s and the ratio to its reference."""
    spec = importlib.util.spec_from_file_location("bench_training", BENCH_TRAINING)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "result.json"
    report = bench.main(
        ["--lines", "1500", "--workdir", str(tmp_path / "data"), "--repeats", "1", "--skip-train", "--skip-compare",
         "--json", str(out)]
    )  # fmt: skip
    features = report["features"]
    assert features["lines"] > 1000 and features["features_lines_per_s"] > 0
    assert features["features_vs_reference"] > 0 and features["context_lines_per_s"] > 0
    assert json.loads(out.read_text())["features"]["lines"] == features["lines"]
