"""The evaluation report: plots (ROC, PR, calibration, lift, importance, contribution summary), tables and
the model card, written to a folder that MLflow logs as the run's ``report`` artifacts.

Plots are drawn on plain ``Figure`` objects (Agg, no display), outside pyplot: importing this module
leaves the caller's backend alone (a notebook keeps its inline plots). Nothing in the report identifies a
patient: only aggregates over lines, payer names and codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from features.model import DenialModel
from training.evaluate import Evaluation, summary_rows

__all__ = ["model_card", "write_report"]


def _subplots(*grid: int, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid)


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_report(
    folder: Path,
    evaluation: Evaluation,
    y: np.ndarray,
    model: DenialModel,
    sample: np.ndarray,
    *,
    card: str,
    extra: dict[str, Any],
) -> list[Path]:
    """Write the plots, ``metrics.json``, ``slices.json`` and ``model_card.md`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    fig, axes = _subplots(1, 2, figsize=(11, 4.5))
    for name, p in evaluation.scores.items():
        fpr, tpr, _ = roc_curve(y, p)
        axes[0].plot(fpr, tpr, label=f"{name} ({evaluation.metrics[name].get('roc_auc', float('nan')):.3f})")
        prec, rec, _ = precision_recall_curve(y, p)
        axes[1].plot(rec, prec, label=f"{name} ({evaluation.metrics[name].get('pr_auc', float('nan')):.3f})")
    axes[0].set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test period)")
    axes[1].set(xlabel="recall", ylabel="precision", title="Precision-recall (test period)")
    for ax in axes:
        ax.legend(fontsize=8)
    _save(fig, folder / "roc_pr.png")
    written.append(folder / "roc_pr.png")
    fig, ax = _subplots(figsize=(5.5, 5))
    for name in ("model", "oracle", "logistic"):
        if name in evaluation.scores:
            observed, predicted = calibration_curve(
                y, evaluation.scores[name], n_bins=15, strategy="quantile"
            )
            ax.plot(predicted, observed, marker="o", ms=3, label=name)
    ax.plot([0, 1], [0, 1], ls="--", color="grey")
    ax.set(xlabel="predicted denial probability", ylabel="observed denial rate", title="Calibration")
    ax.legend()
    _save(fig, folder / "calibration.png")
    written.append(folder / "calibration.png")
    fig, ax = _subplots(figsize=(6, 4.5))
    for name, p in evaluation.scores.items():
        order = np.argsort(-p, kind="stable")
        captured = np.cumsum(y[order]) / max(1, y.sum())
        ax.plot(np.arange(1, len(y) + 1) / len(y), captured, label=name)
    ax.set(
        xlabel="share of lines reviewed (highest risk first)", ylabel="share of denials caught", title="Lift"
    )
    ax.legend(fontsize=8)
    _save(fig, folder / "lift.png")
    written.append(folder / "lift.png")
    names = np.array(model.feature_names_)
    gain = model.booster_.feature_importance(importance_type="gain")
    top = np.argsort(-gain)[:25][::-1]
    fig, ax = _subplots(figsize=(7, 7))
    ax.barh(names[top], gain[top] / gain.sum())
    ax.set(xlabel="share of total gain", title="Feature importance (gain)")
    _save(fig, folder / "feature_importance.png")
    written.append(folder / "feature_importance.png")
    contributions = model.contributions(sample)[:, :-1]
    mean_abs = np.abs(contributions).mean(axis=0)
    top = np.argsort(-mean_abs)[:20][::-1]
    fig, ax = _subplots(figsize=(8, 7))
    rng = np.random.default_rng(0)
    for row, k in enumerate(top):
        values = sample[:, k].astype(np.float64)
        finite = np.isfinite(values)
        color = np.full(len(values), 0.5)
        if finite.any() and np.nanmax(values) > np.nanmin(values):
            color[finite] = (values[finite] - np.nanmin(values)) / (np.nanmax(values) - np.nanmin(values))
        ax.scatter(
            contributions[:, k], row + rng.uniform(-0.3, 0.3, len(values)), c=color, cmap="coolwarm", s=4
        )
    ax.set_yticks(range(len(top)), names[top])
    ax.axvline(0, color="grey", lw=0.5)
    ax.set(
        xlabel="contribution to the log-odds of denial (TreeSHAP, pred_contrib)", title="Contribution summary"
    )
    _save(fig, folder / "contribution_summary.png")
    written.append(folder / "contribution_summary.png")
    (folder / "metrics.json").write_text(
        json.dumps({"metrics": evaluation.metrics, "ratios": evaluation.ratios(),
                    "reason_top1_accuracy": evaluation.reason_accuracy, **extra}, indent=2, default=float) + "\n"
    )  # fmt: skip
    (folder / "slices.json").write_text(json.dumps(evaluation.slices, indent=2, default=float) + "\n")
    (folder / "model_card.md").write_text(card)
    written += [folder / "metrics.json", folder / "slices.json", folder / "model_card.md"]
    return written


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def model_card(
    *,
    model_name: str,
    evaluation: Evaluation,
    split: dict[str, Any],
    data: dict[str, Any],
    capacity: list[dict[str, Any]],
    params: dict[str, Any],
) -> str:
    """The model card (Markdown): data period, split, metrics beside baselines and oracle, slices, limits."""
    rows = summary_rows(evaluation)
    header = list(rows[0]) if rows else []
    lines = [
        f"# Model card: {model_name}",
        "",
        "Predicts, per claim line before submission, the probability that the payer denies it (calibrated),",
        "and the likely denial category. LightGBM on the features of `features.catalogue`; the split is by",
        "submission date, never by random rows.",
        "",
        "## Data",
        "",
        f"- source: `{data.get('source')}` (fingerprint `{str(data.get('fingerprint'))[:16]}`; the data itself is"
        " not logged)",
        f"- lines: {data.get('lines')}, simulated ground truth: {data.get('has_truth')},"
        f" authorizations on file: {data.get('has_authorizations')}",
        "",
        "| period | lines | from | to | denial rate |",
        "|---|---:|---|---|---:|",
        *[
            f"| {k} | {v['lines']} | {v['from']} | {v['to']} | {_fmt(v['denial_rate'])} |"
            for k, v in split.items()
        ],
        "",
        "## Test-period metrics",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(_fmt(r[h]) for h in header) + " |" for r in rows],
        "",
    ]
    ratios = evaluation.ratios()
    if ratios:
        lines += [
            f"- ROC-AUC / oracle: {ratios['roc_auc_vs_oracle']:.4f}; PR-AUC / oracle: {ratios['pr_auc_vs_oracle']:.4f}"
        ]
    if evaluation.reason_accuracy is not None:
        lines += [f"- reason top-1 accuracy on denied lines: {evaluation.reason_accuracy:.4f}"
                  + (f" (oracle's true reason: {evaluation.oracle_reason_accuracy:.4f})"
                     if evaluation.oracle_reason_accuracy is not None else "")]  # fmt: skip
    lines += [
        "",
        "## Capacity (validation ROC-AUC vs explanation cost)",
        "",
        "| leaves | depth | trees | validation ROC-AUC | pred_contrib ms/row | chosen |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for c in capacity:
        lines.append(f"| {c['num_leaves']} | {c['max_depth']} | {c['trees']} | {c['validation_auc']:.4f} |"
                     f" {c['contrib_ms_per_row']:.3f} | {'yes' if c.get('chosen') else ''} |")  # fmt: skip
    lines += ["", "## Slices (test period, model)", ""]
    for slice_name, values in evaluation.slices.items():
        lines += [f"### {slice_name}", "", "| value | lines | denial rate | ROC-AUC | oracle ROC-AUC | ECE |",
                  "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        for value, m in values.items():
            cells = [str(int(m.get("model.lines", 0)))]
            cells += [
                _fmt(m.get(k)) for k in ("model.denial_rate", "model.roc_auc", "oracle.roc_auc", "model.ece")
            ]
            lines.append(f"| {value} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Parameters",
        "",
        "```json",
        json.dumps(params, indent=2, default=str),
        "```",
        "",
        "## Decisions",
        "",
        "- Class imbalance (about one line in ten denied): the risk model is trained on the unweighted log-loss,",
        "  because its probabilities are used as they are (expected denied dollars = probability x charge);",
        "  reweighting would distort them. Rare problems are not drowned: audit findings are features with",
        "  monotone constraints (a finding can only raise the risk), and the reason model is fitted on denied",
        "  lines only.",
        "- Calibration: Platt scaling on the validation period (strictly monotone, so a fix that lowers the",
        "  margin always lowers the shown risk; isotonic steps can leave it flat).",
        "- Capacity: the smallest model (by exact TreeSHAP cost per row) within the configured ROC-AUC tolerance",
        "  of the best, because every scored line may be explained.",
        "",
        "## Limits",
        "",
        "- Trained on one practice's history; payers change rules every quarter: retrain on new 835s and",
        "  compare challenger and champion on the same period before promoting.",
        "- History features (payer x code denial rates) are frozen at training time; they go stale between",
        "  retrainings, as they were on the test period here.",
        "- Causes that no claim field reveals (eligibility, random documentation requests, medical review) stay",
        "  uncertain: the model ranks them by payer and cost, it cannot foresee them.",
        "- On simulated data the figures measure the simulator's world, not a real payer's.",
        "",
    ]
    return "\n".join(lines)


def frame_sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` rows of ``frame``, sampled reproducibly."""
    return frame.sample(n=min(n, len(frame)), random_state=seed) if len(frame) > n else frame
