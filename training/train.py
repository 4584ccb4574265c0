"""``train_model``: load, split by time, choose capacity, fit, evaluate against baselines and the oracle,
log to MLflow, register as ``challenger`` and, when asked and the gates pass, promote to ``champion``.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.builder import INPUT_COLUMNS
from features.model import DenialModel
from training import tracking
from training.config import Profile, TrainingConfig
from training.dataset import Dataset, load_dataset, split_by_time
from training.evaluate import Evaluation, audit_baseline, evaluate_model, logistic_baseline, payer_baseline
from training.report import frame_sample, model_card, write_report

__all__ = ["TrainingResult", "baseline_scores", "choose_capacity", "evaluate_registered", "train_model"]

Progress = Callable[[str], None]


@dataclass
class TrainingResult:
    """What a training run produced."""

    model: DenialModel
    evaluation: Evaluation
    registered: tracking.RegisteredModel
    split: dict[str, Any]
    capacity: list[dict[str, Any]]
    promoted: bool
    promotion_reason: str
    timings: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] | None = None


def _model_params(config: TrainingConfig, **override: Any) -> dict[str, Any]:
    params = config.model.model_dump()
    params.update(random_state=config.seed, n_jobs=config.n_jobs, **override)
    return params


def _contrib_ms(model: DenialModel, matrix: np.ndarray) -> float:
    """Median milliseconds per row of exact TreeSHAP on ``matrix`` (3 repeats)."""
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        model.contributions(matrix)
        runs.append((time.perf_counter() - start) * 1000 / len(matrix))
    return float(np.median(runs))


def choose_capacity(
    config: TrainingConfig, train: pd.DataFrame, validation: pd.DataFrame, progress: Progress | None = None
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Fit each candidate capacity, measure validation ROC-AUC and ``pred_contrib`` cost per row; choose
    the cheapest to explain among those within ``tolerance`` AUC of the best."""
    if not config.capacity.enabled:
        return {"num_leaves": config.model.num_leaves, "max_depth": config.model.max_depth}, []
    y = validation["label_denied"].to_numpy(dtype=bool)
    # The sweep compares capacities, it does not ship a model: the latest lines are enough to rank them.
    train = train.iloc[-config.capacity.max_rows :] if len(train) > config.capacity.max_rows else train
    results: list[dict[str, Any]] = []
    for candidate in config.capacity.candidates:
        if progress:
            progress(f"capacity {candidate}")
        model = DenialModel(**_model_params(config, **candidate, reason_estimators=1)).fit(
            train, eval_frame=validation
        )
        matrix = model.transform(validation)
        auc = float(roc_auc_score(y, model.score_matrix(matrix, reasons=False).raw))
        rows = matrix[: config.capacity.contrib_rows]
        results.append({**candidate, "trees": model.best_iteration_, "validation_auc": auc,
                        "contrib_ms_per_row": _contrib_ms(model, rows)})  # fmt: skip
    best = max(r["validation_auc"] for r in results)
    eligible = [r for r in results if r["validation_auc"] >= best - config.capacity.tolerance]
    chosen = min(eligible, key=lambda r: r["contrib_ms_per_row"])
    chosen["chosen"] = True
    return {"num_leaves": chosen["num_leaves"], "max_depth": chosen["max_depth"]}, results


def baseline_scores(
    model: DenialModel, train: pd.DataFrame, frame: pd.DataFrame, seed: int
) -> dict[str, np.ndarray]:
    """The baselines' probabilities on ``frame``, fitted on ``train``."""
    logistic = logistic_baseline(model, train, seed=seed)
    return {
        "payer_prior": payer_baseline(train, frame),
        "audit_rules": audit_baseline(train, frame),
        "logistic": logistic.predict_proba(model.transform(frame))[:, 1],
    }


def _gates(
    config: TrainingConfig, challenger: dict[str, float], champion: dict[str, float]
) -> tuple[bool, str]:
    gain = challenger["roc_auc"] - champion["roc_auc"]
    ece = challenger["ece"] - champion["ece"]
    if gain < config.gates.min_auc_gain:
        return False, f"ROC-AUC gain {gain:+.4f} is below the gate {config.gates.min_auc_gain:+.4f}"
    if ece > config.gates.max_ece_increase:
        return (
            False,
            f"calibration worse: ECE {ece:+.4f} above the allowed {config.gates.max_ece_increase:+.4f}",
        )
    return True, f"ROC-AUC {gain:+.4f}, ECE {ece:+.4f} against the champion on the same test period"


def train_model(
    data: str | Path,
    config: TrainingConfig,
    profile: Profile,
    *,
    promote: bool = False,
    progress: Progress | None = None,
    dataset: Dataset | None = None,
) -> TrainingResult:
    """Train, evaluate, log and register a model on the data folder ``data`` (see the module docstring).

    ``promote``: move ``champion`` to the new version if there is no champion yet, or if the new version
    beats it on this test period by the configured gates (ROC-AUC gain, calibration not worse).
    """
    say = progress or (lambda _: None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    say("loading the data and auditing each claim (point in time)")
    ds = dataset or load_dataset(data, n_jobs=config.n_jobs)
    frame = ds.frame
    split = split_by_time(frame, **config.split.model_dump())
    train, validation, test = frame[split.train], frame[split.validation], frame[split.test]
    timings["load_s"] = time.perf_counter() - start
    t = time.perf_counter()
    capacity, sweep = choose_capacity(config, train, validation, say)
    timings["capacity_s"] = time.perf_counter() - t
    say(f"fitting LightGBM {capacity}, calibration and the reason model")
    t = time.perf_counter()
    params = _model_params(config, **capacity)
    model = DenialModel(**params).fit(train, eval_frame=validation)
    timings["fit_s"] = time.perf_counter() - t
    say("evaluating on the test period against the baselines and the oracle")
    t = time.perf_counter()
    evaluation = evaluate_model(model, test, baselines=baseline_scores(model, train, test, config.seed))
    timings["evaluate_s"] = time.perf_counter() - t
    split_summary = split.summary(frame)
    data_info = {"source": ds.source, "fingerprint": ds.fingerprint, "lines": len(frame),
                 "has_truth": ds.has_truth, "has_authorizations": ds.has_authorizations}  # fmt: skip
    say("logging the run to MLflow")
    t = time.perf_counter()
    uri = tracking.configure(profile.tracking_uri, data)
    card = model_card(model_name=profile.model_name, evaluation=evaluation, split=split_summary, data=data_info,
                      capacity=sweep, params=params)  # fmt: skip
    sample = model.transform(frame_sample(test, 2000, config.seed))
    y_test = test["label_denied"].to_numpy(dtype=bool)
    metrics = {**evaluation.flat(), "model.best_iteration": float(model.best_iteration_)}
    with tracking.temporary_folder() as folder:
        write_report(Path(folder), evaluation, y_test, model, sample, card=card,
                     extra={"split": split_summary, "capacity": sweep, "data": data_info})  # fmt: skip
        registered = tracking.log_training_run(
            model,
            model_name=profile.model_name,
            config={"config": config.model_dump(), "profile": profile.model_dump(), "tracking_uri": uri},
            params={**params, "data.fingerprint": ds.fingerprint[:16], "data.lines": len(frame),
                    "split.validation_start": split.validation_start, "split.test_start": split.test_start},
            metrics=metrics,
            artifacts=Path(folder),
            input_example=test.head(5)[list(INPUT_COLUMNS)],
            tags={"data.source": ds.source, "test_start": str(split.test_start), "test_end": str(split.period[1]),
                  "python": platform.python_version()},
        )  # fmt: skip
    timings["tracking_s"] = time.perf_counter() - t
    promoted, reason, champion_metrics = False, "not asked to promote", None
    if promote:
        champion = tracking.champion_version(profile.model_name)
        if champion is None:
            promoted, reason = True, "no champion yet"
        else:
            champion_model = tracking.load_model(champion.model_uri)
            champion_eval = evaluate_model(champion_model, test)
            champion_metrics = champion_eval.metrics["model"]
            promoted, reason = _gates(config, evaluation.metrics["model"], champion_metrics)
        if promoted:
            tracking.promote(profile.model_name, registered.version)
    timings["total_s"] = time.perf_counter() - start
    return TrainingResult(model, evaluation, registered, split_summary, sweep, promoted, reason, timings,
                          champion_metrics)  # fmt: skip


def evaluate_registered(uri: str, data: str | Path, profile: Profile, config: TrainingConfig) -> Evaluation:
    """Evaluate a registered model on the test period of ``data`` against the baselines (and the oracle)."""
    tracking.configure(profile.tracking_uri, data)
    model = tracking.load_model(uri)
    ds = load_dataset(data, n_jobs=config.n_jobs)
    split = split_by_time(ds.frame, **config.split.model_dump())
    train, test = ds.frame[split.train], ds.frame[split.test]
    return evaluate_model(model, test, baselines=baseline_scores(model, train, test, config.seed))
