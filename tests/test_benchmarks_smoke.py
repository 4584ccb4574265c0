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
