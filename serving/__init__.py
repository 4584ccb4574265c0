"""The scoring service: FastAPI app, scorer, explanations, prediction log, model store, batch scoring.

>>> from serving import Settings, create_app  # doctest: +SKIP
>>> app = create_app(Settings(demo=True))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from serving.errors import (
    BodyTooLarge,
    FeatureSchemaMismatch,
    InvalidInput,
    InvalidX12,
    ModelLoadError,
    ModelUnavailable,
    Overloaded,
    ServingError,
    TooManyClaims,
)
from serving.explain import Explainer, Reason
from serving.model_store import LoadedModel, ModelInfo, check_feature_schema, load_model
from serving.scorer import ClaimInput, ClaimResult, LineResult, ModelScorer, Scorer, claim_risk
from serving.settings import Settings, get_settings, hash_api_key

__all__ = [
    "BodyTooLarge",
    "ClaimInput",
    "ClaimResult",
    "Explainer",
    "FeatureSchemaMismatch",
    "InvalidInput",
    "InvalidX12",
    "LineResult",
    "LoadedModel",
    "ModelInfo",
    "ModelLoadError",
    "ModelScorer",
    "ModelUnavailable",
    "Overloaded",
    "PredictionLog",
    "Reason",
    "Scorer",
    "ServingError",
    "Settings",
    "TooManyClaims",
    "check_feature_schema",
    "claim_risk",
    "create_app",
    "create_app_from_env",
    "get_settings",
    "hash_api_key",
    "load_model",
    "open_prediction_log",
]

if TYPE_CHECKING:
    from serving.app import create_app, create_app_from_env
    from serving.prediction_log import PredictionLog, open_prediction_log

#: Imported on first use: the web app (FastAPI, the X12 reader) and the prediction log (SQLAlchemy) take
#: ~0.5 s to import, which ``denials score`` and notebooks that only score do not need.
_LAZY = {
    "create_app": "serving.app",
    "create_app_from_env": "serving.app",
    "PredictionLog": "serving.prediction_log",
    "open_prediction_log": "serving.prediction_log",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
