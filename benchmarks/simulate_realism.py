"""The simulator's realism bar, measured: denial rates, categories, rule-catchable share, oracle AUC, drift.

    .venv/bin/python benchmarks/simulate_realism.py [--claims 20000] [--seed 7] [--json OUT]

The same figures are asserted by tests/claims/test_simulate.py (which imports ``figures`` from here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from claims.simulate import SimulationConfig, simulate_practice, write_simulation
from claims.simulate.engine import OUTCOME_KEYS

#: A policy change inside the default period: Evergreen Choice requires prior auth for growth factors.
POLICY_PAYER, POLICY_CODE, POLICY_DATE = "EVERGREEN CHOICE HMO", "J2506", dt.date(2024, 7, 1)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC by the rank-sum formula (ties get average ranks)."""
    ranks = pd.Series(score).rank(method="average").to_numpy()
    positives = y.sum()
    negatives = len(y) - positives
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def load_history(folder: Path) -> pd.DataFrame:
    """Submitted lines joined to their outcomes and truth; only lines with an outcome."""
    lines = pq.read_table(folder / "lines.parquet").to_pandas()
    outcomes = pq.read_table(folder / "outcomes.parquet").to_pandas()
    truth = pq.read_table(folder / "truth.parquet").to_pandas()
    frame = lines.merge(outcomes, on=list(OUTCOME_KEYS)).merge(truth, on=list(OUTCOME_KEYS))
    if not len(frame) == len(lines) == len(truth):
        raise AssertionError("lines, outcomes and truth do not join one to one")
    return frame[frame.label_denied.notna()].assign(denied=lambda d: d.label_denied.astype(bool))


def figures(history: pd.DataFrame, *, end: dt.date) -> dict[str, Any]:
    """Every figure of the realism bar."""
    denied = history[history.denied]
    commercial = history[history.plan_type == "commercial"].groupby("payer_name").denied.mean()
    last = history[history.service_date > end - dt.timedelta(days=92)]
    policy = history[(history.payer_name == POLICY_PAYER) & (history.procedure_code == POLICY_CODE)]
    return {
        "lines": len(history),
        "denial_rate": round(float(history.denied.mean()), 4),
        "denial_rate_by_plan_type": history.groupby("plan_type").denied.mean().round(4).to_dict(),
        "denial_rate_by_payer": history.groupby("payer_name").denied.mean().round(4).to_dict(),
        "commercial_max_over_min": round(float(commercial.max() / commercial.min()), 2),
        "categories": denied.label_category.value_counts().to_dict(),
        "rule_catchable_share_of_denied_dollars": round(
            float(denied.loc[denied.rule_based, "line_charge"].sum() / denied.line_charge.sum()), 4
        ),
        "oracle_auc_last_quarter": round(
            roc_auc(last.denied.to_numpy().astype(int), last.true_probability.to_numpy()), 4
        ),
        "policy_change": {
            "payer": POLICY_PAYER,
            "code": POLICY_CODE,
            "date": POLICY_DATE.isoformat(),
            "before": round(float(policy[policy.service_date < POLICY_DATE].denied.mean()), 4),
            "after": round(float(policy[policy.service_date >= POLICY_DATE].denied.mean()), 4),
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    config = SimulationConfig(claims=args.claims, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        write_simulation(simulate_practice(config), tmp)
        result = figures(load_history(Path(tmp)), end=config.end)
    print(json.dumps(result, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
