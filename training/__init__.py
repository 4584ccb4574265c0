"""Datasets, training, evaluation, MLflow tracking and the ``denials`` CLI.

The names below are imported on first use (MLflow is heavy; ``import training`` stays cheap and has no
side effects)::

    from training import load_dataset, split_by_time, train_model, load_config, load_profile
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "ConfigError": "training.config",
    "Profile": "training.config",
    "TrainingConfig": "training.config",
    "load_config": "training.config",
    "load_profile": "training.config",
    "DataError": "training.dataset",
    "Dataset": "training.dataset",
    "load_dataset": "training.dataset",
    "split_by_time": "training.dataset",
    "Evaluation": "training.evaluate",
    "evaluate_model": "training.evaluate",
    "TrainingResult": "training.train",
    "evaluate_registered": "training.train",
    "train_model": "training.train",
    "load_model": "training.tracking",
    "ClaimScore": "training.api",
    "FixReport": "training.api",
    "apply_fixes_and_rescore": "training.api",
    "claims_from_lines": "training.api",
    "evaluate_against_baselines": "training.api",
    "explain": "training.api",
    "fit_model": "training.api",
    "load_authorizations": "training.api",
    "notebook_data": "training.api",
    "quick_config": "training.api",
    "score_claims": "training.api",
    "simulate_data": "training.api",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'training' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
