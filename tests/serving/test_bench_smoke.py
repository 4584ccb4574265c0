"""The serving benchmark runs end to end on tiny settings and returns its figures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from features.model import DenialModel
from tests.serving.conftest import save_model_folder

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_serving.py"


@pytest.mark.slow
def test_bench_serving_in_process_small(tmp_path: Path, serving_model: DenialModel) -> None:
    spec = importlib.util.spec_from_file_location("bench_serving", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    folder = save_model_folder(serving_model, tmp_path / "model")
    out = tmp_path / "result.json"
    args = ["--model", str(folder), "--calls", "60", "--http-seconds", "0", "--batch-lines", "0"]
    result = bench.main([*args, "--workdir", str(tmp_path / "work"), "--json", str(out), "--quiet"])
    assert json.loads(out.read_text()) == result
    figures = result["in_process"]
    assert figures["claim"]["lines"] == 10 and figures["claim"]["fixes_rescored"] >= 1
    assert figures["floor_booster_predict"]["p50_ms"] > 0 and figures["ratio_p50"] > 1
    assert set(figures["breakdown_p50_ms"]) == {
        "no_explanations_no_fixes",
        "explanations_no_fixes",
        "explanations_and_fixes",
    }
