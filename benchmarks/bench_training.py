"""Speed and memory of training, feature building, and LightGBM beside XGBoost and HistGradientBoosting.

    python benchmarks/bench_training.py --data DIR [--repeats R] [--json OUT] [--skip-train] [--skip-compare]
    python benchmarks/bench_training.py --lines N --workdir DIR ...   (simulates the data first)

On a data folder (``denials simulate`` output, ideally 1,000,000 lines), in fresh subprocesses:

* ``features``: ``LineFeatureBuilder.transform`` of every line (the batch path), median over repeats,
  against a reference measured in the same subprocess: reading ``lines.parquet`` into pandas. Reported
  as lines/s and as a ratio to the reference. Target: at least 200,000 lines/s.
* ``context``: the point-in-time audit of every claim (``features.context.annotate_frame``, 2 processes),
  which the dataset loader caches next to the data: lines/s. The ``train`` phase then reads that cache, so
  a first training on fresh data costs ``train_s + context_s`` (reported as ``fresh_train_s``).
* ``train``: ``train_model`` end to end as ``denials train`` runs it (load with the audit, capacity sweep,
  fit, calibration, reason model, evaluation against the baselines and the oracle, MLflow logging to a
  temporary store): wall time and peak memory (``ru_maxrss`` of the subprocess and its children). Target on
  1,000,000 lines: at most 5 minutes and 6 GiB on 2 cores.
* ``compare``: on the same feature matrices (train / validation / test by time), LightGBM, XGBoost
  (``hist``; optional, ``pip install '.[bench]'``) and scikit-learn's ``HistGradientBoostingClassifier``,
  each early-stopped on validation with 31 leaves and learning rate 0.05: test ROC-AUC and fit seconds,
  with the ratio of each fit time to LightGBM's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_FEATURE_LINES_PER_S = 200_000
TARGET_TRAIN_SECONDS = 300.0
TARGET_TRAIN_GIB = 6.0
LINES_PER_CLAIM = 6.5


def _peak_mib() -> float:
    return (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )


def phase_features(data: Path, repeats: int) -> dict[str, Any]:
    import pandas as pd

    from features.builder import LineFeatureBuilder
    from features.context import annotate_frame
    from training.dataset import load_dataset

    start = time.perf_counter()
    frame = load_dataset(data, cache=False).frame  # includes the audit, timed apart below
    load_s = time.perf_counter() - start
    raw = pd.read_parquet(data / "lines.parquet")
    start = time.perf_counter()
    annotate_frame(
        raw,
        pd.read_parquet(data / "authorizations.parquet")
        if (data / "authorizations.parquet").exists()
        else None,
    )
    context_s = time.perf_counter() - start
    builder = LineFeatureBuilder().fit(frame)
    runs, references = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        pd.read_parquet(data / "lines.parquet")
        references.append(time.perf_counter() - start)
        start = time.perf_counter()
        builder.transform(frame)
        runs.append(time.perf_counter() - start)
    features_s, reference_s = statistics.median(runs), statistics.median(references)
    return {
        "lines": len(frame),
        "load_with_context_s": load_s,
        "context_s": context_s,
        "context_lines_per_s": len(raw) / context_s,
        "features_s": features_s,
        "features_runs_s": runs,
        "features_lines_per_s": len(frame) / features_s,
        "reference_read_parquet_s": reference_s,
        "features_vs_reference": features_s / reference_s,
        "feature_target_met": len(frame) / features_s >= TARGET_FEATURE_LINES_PER_S,
        "peak_mib": _peak_mib(),
    }


def phase_train(data: Path) -> dict[str, Any]:
    from training.config import Profile, load_config
    from training.train import train_model

    with tempfile.TemporaryDirectory() as store:
        profile = Profile(tracking_uri=f"sqlite:///{store}/mlflow.db", model_name="bench")
        os.environ["MLFLOW_TRACKING_URI"] = profile.tracking_uri or ""
        start = time.perf_counter()
        result = train_model(data, load_config(), profile, dataset=None)
        wall = time.perf_counter() - start
    return {
        "train_s": wall,
        "timings_s": result.timings,
        "peak_mib": _peak_mib(),
        "metrics": result.evaluation.metrics,
        "ratios": result.evaluation.ratios(),
        "reason_top1_accuracy": result.evaluation.reason_accuracy,
        "capacity": result.capacity,
    }


def phase_compare(data: Path) -> dict[str, Any]:
    import lightgbm as lgb
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from features.builder import LineFeatureBuilder
    from training.dataset import load_dataset, split_by_time

    frame = load_dataset(data).frame
    split = split_by_time(frame, validation_fraction=0.15, test_fraction=0.2)
    builder = LineFeatureBuilder().fit(frame[split.train])
    x = {k: builder.transform(frame[getattr(split, k)]) for k in ("train", "validation", "test")}
    y = {k: frame["label_denied"].to_numpy(dtype=np.float64)[getattr(split, k)] for k in x}
    categorical = builder.categorical_features_
    out: dict[str, Any] = {}
    start = time.perf_counter()
    train_set = lgb.Dataset(x["train"], y["train"], categorical_feature=categorical)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 50,
         "num_threads": 2, "verbosity": -1},
        train_set, 1000, valid_sets=[lgb.Dataset(x["validation"], y["validation"], reference=train_set)],
        callbacks=[lgb.early_stopping(40, verbose=False)],
    )  # fmt: skip
    out["lightgbm"] = {"fit_s": time.perf_counter() - start, "trees": booster.best_iteration,
                       "test_auc": float(roc_auc_score(y["test"], booster.predict(x["test"])))}  # fmt: skip
    start = time.perf_counter()
    hgb = HistGradientBoostingClassifier(
        learning_rate=0.05, max_leaf_nodes=31, max_iter=1000, early_stopping=True, n_iter_no_change=40,
        validation_fraction=None, categorical_features=categorical, random_state=0,
    )  # fmt: skip
    # HistGradientBoosting takes no separate validation set: it is fitted on train only with its own
    # internal split turned off, and capped at LightGBM's tree count for a like-for-like comparison.
    hgb.set_params(early_stopping=False, max_iter=max(1, booster.best_iteration))
    hgb.fit(np.nan_to_num(x["train"], nan=np.nan), y["train"])
    hgb_auc = float(roc_auc_score(y["test"], hgb.predict_proba(x["test"])[:, 1]))
    out["hist_gradient_boosting"] = {
        "fit_s": time.perf_counter() - start,
        "trees": hgb.n_iter_,
        "test_auc": hgb_auc,
    }
    try:
        import xgboost as xgb
    except ImportError:
        out["xgboost"] = {"skipped": "xgboost not installed (pip install '.[bench]')"}
    else:
        start = time.perf_counter()
        model = xgb.XGBClassifier(
            tree_method="hist", max_leaves=31, grow_policy="lossguide", learning_rate=0.05, n_estimators=1000,
            early_stopping_rounds=40, n_jobs=2, eval_metric="logloss",
        )  # fmt: skip
        model.fit(x["train"], y["train"], eval_set=[(x["validation"], y["validation"])], verbose=False)
        xgb_auc = float(roc_auc_score(y["test"], model.predict_proba(x["test"])[:, 1]))
        out["xgboost"] = {
            "fit_s": time.perf_counter() - start,
            "trees": int(model.best_iteration) + 1,
            "test_auc": xgb_auc,
        }
    reference = out["lightgbm"]["fit_s"]
    for values in out.values():
        if "fit_s" in values:
            values["fit_time_vs_lightgbm"] = values["fit_s"] / reference
    out["lines"] = {k: len(v) for k, v in y.items()}
    return out


def _subprocess(phase: str, data: Path, repeats: int) -> dict[str, Any]:
    call = (
        f"b.phase_features(Path({str(data)!r}), {repeats})"
        if phase == "features"
        else (f"b.PHASES[{phase!r}](Path({str(data)!r}))")
    )
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_training as b; "
        f"from pathlib import Path; print(json.dumps({call}, default=float))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


PHASES: dict[str, Any] = {"features": phase_features, "train": phase_train, "compare": phase_compare}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, help="simulated data folder (lines, outcomes, authorizations, truth)"
    )
    parser.add_argument(
        "--lines", type=int, default=0, help="simulate about this many lines first (into --workdir)"
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bench_training")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args(argv)
    data = args.data
    report: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    if data is None:
        if not args.lines:
            parser.error("give --data DIR or --lines N")
        from claims.simulate import SimulationConfig, simulate_practice, write_simulation

        data = args.workdir
        start = time.perf_counter()
        write_simulation(
            simulate_practice(SimulationConfig(claims=round(args.lines / LINES_PER_CLAIM), seed=args.seed)),
            data,
        )
        report["simulate_s"] = time.perf_counter() - start
    report["features"] = _subprocess("features", data, args.repeats)
    print(json.dumps({"features": report["features"]}, indent=2, default=float))
    if not args.skip_compare:
        report["compare"] = _subprocess("compare", data, args.repeats)
        print(json.dumps({"compare": report["compare"]}, indent=2, default=float))
    if not args.skip_train:
        report["train"] = _subprocess("train", data, args.repeats)
        train = report["train"]
        train["target_met"] = (
            train["train_s"] <= TARGET_TRAIN_SECONDS and train["peak_mib"] / 1024 <= TARGET_TRAIN_GIB
        )
        print(
            json.dumps(
                {"train": {k: v for k, v in train.items() if k != "capacity"}}, indent=2, default=float
            )
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")
    return report


if __name__ == "__main__":
    main()
