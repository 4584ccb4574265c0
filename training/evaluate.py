"""Evaluation on the test period: the model beside its baselines and, on simulated data, the oracle.

Every scorer gives a denial probability per line; :func:`line_metrics` computes the same metrics for
each: ROC-AUC, PR-AUC, Brier, expected calibration error (ECE, 15 equal-width bins), recall at 90% and 95%
precision, lift and share of denied dollars in the top 10% of lines ranked by expected denied dollars
(probability x line charge). Slices per payer and per drug class; reason top-1 accuracy on denied lines.

Baselines (product brief, section 5): the payer's prior denial rate (from the training period), the
coding audit alone (the training-period denial rate of lines with and without an audit error), and a
logistic regression on the same features. The oracle scores with the simulator's true probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from claims.reference import load_drugs
from features.model import DenialModel

__all__ = [
    "Evaluation",
    "audit_baseline",
    "evaluate_model",
    "expected_calibration_error",
    "line_metrics",
    "logistic_baseline",
    "payer_baseline",
]

TOP_SHARE = 0.10


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Weighted mean |observed rate - mean probability| over equal-width probability bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(float(y[mask].mean()) - float(p[mask].mean()))
    return total / len(y)


def _recall_at_precision(y: np.ndarray, p: np.ndarray, precision: float) -> float:
    prec, rec, _ = precision_recall_curve(y, p)
    ok = prec >= precision
    return float(rec[ok].max()) if ok.any() else 0.0


def line_metrics(
    y: np.ndarray, p: np.ndarray, charge: np.ndarray, denied_dollars: np.ndarray
) -> dict[str, float]:
    """The metrics of one scorer on one set of lines (see the module docstring)."""
    y = y.astype(np.float64)
    out: dict[str, float] = {"lines": float(len(y)), "denial_rate": float(y.mean()) if len(y) else 0.0}
    if len(y) == 0 or y.min() == y.max():
        return out
    out["roc_auc"] = float(roc_auc_score(y, p))
    out["pr_auc"] = float(average_precision_score(y, p))
    out["brier"] = float(brier_score_loss(y, p))
    out["ece"] = expected_calibration_error(y, p)
    out["recall_at_90_precision"] = _recall_at_precision(y, p, 0.90)
    out["recall_at_95_precision"] = _recall_at_precision(y, p, 0.95)
    k = max(1, round(len(y) * TOP_SHARE))
    by_risk = np.argsort(-p, kind="stable")[:k]
    out["lift_top10"] = float(y[by_risk].mean() / y.mean())
    by_dollars = np.argsort(-(p * charge), kind="stable")[:k]
    total = float(denied_dollars.sum())
    out["denied_dollars_top10"] = float(denied_dollars[by_dollars].sum() / total) if total > 0 else 0.0
    return out


def payer_baseline(train: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Each line scored with its payer's denial rate in the training period."""
    rates = train.groupby("payer_id")["label_denied"].mean()
    overall = float(train["label_denied"].mean())
    return frame["payer_id"].map(rates).fillna(overall).to_numpy(dtype=np.float64)


def audit_baseline(train: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """The audit alone: a line with an error finding gets the training denial rate of such lines (ranked
    by the number of errors), the others the rate of lines without one."""

    def errors(f: pd.DataFrame) -> np.ndarray:
        counts: np.ndarray = np.minimum(pd.to_numeric(f["audit_errors"]).to_numpy(dtype=np.float64), 3)
        return counts

    rates = pd.Series(train["label_denied"].to_numpy(dtype=np.float64)).groupby(errors(train)).mean()
    overall = float(train["label_denied"].mean())
    return pd.Series(errors(frame)).map(rates).fillna(overall).to_numpy(dtype=np.float64)


def logistic_baseline(model: DenialModel, train: pd.DataFrame, *, seed: int = 0) -> Pipeline:
    """Logistic regression on the model's features (categoricals one-hot, numbers imputed and scaled)."""
    matrix = model.transform(train)
    categorical = model.builder_.categorical_features_
    numeric = [i for i in range(matrix.shape[1]) if i not in set(categorical)]
    prepare = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore", min_frequency=20), categorical),
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                numeric,
            ),
        ]
    )
    pipeline = Pipeline(
        [("prepare", prepare), ("model", LogisticRegression(max_iter=300, C=1.0, random_state=seed))]
    )
    pipeline.fit(np.nan_to_num(matrix, nan=np.nan), train["label_denied"].to_numpy(dtype=bool))
    return pipeline


@dataclass
class Evaluation:
    """Metrics of the model, its baselines and the oracle on one period, with slices."""

    metrics: dict[str, dict[str, float]]  # scorer -> metrics
    slices: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # slice -> value -> metrics
    reason_accuracy: float | None = None
    oracle_reason_accuracy: float | None = None
    scores: dict[str, np.ndarray] = field(default_factory=dict)

    def ratios(self) -> dict[str, float]:
        """The model's ROC-AUC and PR-AUC as a share of the oracle's."""
        model, oracle = self.metrics.get("model", {}), self.metrics.get("oracle")
        if not oracle or "roc_auc" not in model:
            return {}
        return {
            "roc_auc_vs_oracle": model["roc_auc"] / oracle["roc_auc"],
            "pr_auc_vs_oracle": model["pr_auc"] / oracle["pr_auc"],
        }

    def flat(self) -> dict[str, float]:
        """``scorer.metric`` -> value, for MLflow."""
        out = {f"{scorer}.{k}": v for scorer, values in self.metrics.items() for k, v in values.items()}
        out.update(self.ratios())
        if self.reason_accuracy is not None:
            out["model.reason_top1_accuracy"] = self.reason_accuracy
        return out


def _drug_class(codes: pd.Series) -> np.ndarray:
    drugs = load_drugs()
    classes = {code: d.drug_class.value for code, d in drugs.items()}
    return codes.map(lambda c: classes.get(c, "service")).to_numpy(dtype=object)


def evaluate_model(
    model: DenialModel,
    frame: pd.DataFrame,
    *,
    baselines: Mapping[str, np.ndarray] | None = None,
) -> Evaluation:
    """Metrics of ``model`` (and the given baseline scores) on ``frame``; the oracle when it has truth."""
    y = frame["label_denied"].to_numpy(dtype=bool)
    charge = frame["line_charge"].to_numpy(dtype=np.float64)
    denied_dollars = np.where(y, frame["label_denied_amount"].fillna(0).to_numpy(dtype=np.float64), 0.0)
    scores_ = model.score_matrix(model.transform(frame))
    scores: dict[str, np.ndarray] = {"model": scores_.probability, **(baselines or {})}
    if "true_probability" in frame and frame["true_probability"].notna().all():
        scores["oracle"] = frame["true_probability"].to_numpy(dtype=np.float64)
    metrics = {name: line_metrics(y, p, charge, denied_dollars) for name, p in scores.items()}
    slices: dict[str, dict[str, dict[str, float]]] = {"payer": {}, "drug_class": {}}
    keys = {
        "payer": frame["payer_name"].to_numpy(dtype=object),
        "drug_class": _drug_class(frame["procedure_code"]),
    }
    for slice_name, values in keys.items():
        for value in sorted(set(values)):
            mask = values == value
            row = {
                f"{name}.{metric}": v
                for name in ("model", "oracle")
                if name in scores
                for metric, v in line_metrics(
                    y[mask], scores[name][mask], charge[mask], denied_dollars[mask]
                ).items()
                if metric in ("lines", "denial_rate", "roc_auc", "pr_auc", "ece")
            }
            slices[slice_name][str(value)] = row
    evaluation = Evaluation(metrics, slices, scores=scores)
    if y.any() and len(model.categories_):
        best = np.array(model.categories_, dtype=object)[scores_.reasons[y].argmax(axis=1)]
        truth = frame["label_category"].to_numpy(dtype=object)[y]
        evaluation.reason_accuracy = float((best == truth).mean())
        if "true_category" in frame:
            evaluation.oracle_reason_accuracy = float(
                (frame["true_category"].to_numpy(dtype=object)[y] == truth).mean()
            )
    return evaluation


def summary_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """One row per scorer: the headline metrics (for the CLI table and the model card)."""
    rows = []
    for name, values in evaluation.metrics.items():
        rows.append({"scorer": name, **{k: values.get(k) for k in _HEADLINE}})
    return rows


_HEADLINE = (
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "recall_at_90_precision",
    "recall_at_95_precision",
    "lift_top10",
    "denied_dollars_top10",
)
