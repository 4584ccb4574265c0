"""The issue's reference measurements of a LightGBM model, repeated on this machine.

    python benchmarks/bench_reference.py [--repeats 3] [--json OUT]

The scoring-service issue gives figures "measured on this machine before you start" for a 300-tree,
63-leaf LightGBM with 50 features: ``Booster.predict`` of one numpy row about 45 us,
``LGBMClassifier.predict_proba`` on a 1-row DataFrame about 4 ms, exact ``pred_contrib`` of one row about
5 ms and of 10 rows about 50 ms. The machines we run on differ from day to day; this script trains such a
model on synthetic data (seeded) and measures the same four calls, so that a serving result can be read
against the machine it was measured on. Medians over ``--repeats`` blocks of calls, one thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main"]

#: The issue's figures (milliseconds).
ISSUE_MS = {"predict_1_row": 0.045, "predict_proba_1_row_dataframe": 4.0, "contrib_1_row": 5.0,
            "contrib_10_rows": 50.0}  # fmt: skip


def _median_ms(call: Callable[[], Any], calls: int, repeats: int) -> float:
    blocks = []
    for _ in range(repeats):
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        blocks.append(statistics.median(times))
    return round(statistics.median(blocks) * 1000, 4)


def run(repeats: int) -> dict[str, Any]:
    import lightgbm as lgb
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 50))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=len(x)) > 0).astype(int)
    classifier = lgb.LGBMClassifier(n_estimators=300, num_leaves=63, verbose=-1, n_jobs=2)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(50)])
    classifier.fit(frame, y)
    booster = classifier.booster_
    row, rows = x[:1].copy(), x[:10].copy()
    one_frame = frame.iloc[:1]
    calls: dict[str, tuple[Callable[[], Any], int]] = {
        "predict_1_row": (lambda: booster.predict(row, num_threads=1), 2000),
        "predict_proba_1_row_dataframe": (lambda: classifier.predict_proba(one_frame), 200),
        "contrib_1_row": (lambda: booster.predict(row, pred_contrib=True, num_threads=1), 100),
        "contrib_10_rows": (lambda: booster.predict(rows, pred_contrib=True, num_threads=1), 20),
    }
    out: dict[str, Any] = {}
    for name, (call, count) in calls.items():
        for _ in range(min(count, 20)):  # warm-up
            call()
        ms = _median_ms(call, count, repeats)
        out[name] = {"ms": ms, "issue_ms": ISSUE_MS[name], "issue_over_here": round(ISSUE_MS[name] / ms, 2)}
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    result = run(args.repeats)
    text = json.dumps(result, indent=2)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main()
