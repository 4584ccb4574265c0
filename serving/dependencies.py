"""FastAPI dependencies: the seams between the routes and the application's state.

Routes never reach into ``app.state`` themselves; they declare what they need (the settings, the current
scorer, the prediction log, a scoring slot) and tests override any of them with
``app.dependency_overrides``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from serving.lifecycle import Metrics, ModelSlot, ScoringGate
from serving.prediction_log import PredictionLog
from serving.scorer import Scorer
from serving.settings import Settings

__all__ = [
    "get_app_settings",
    "get_metrics",
    "get_model_slot",
    "get_prediction_log",
    "get_scorer",
    "scoring_slot",
]


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_model_slot(request: Request) -> ModelSlot:
    slot: ModelSlot = request.app.state.models
    return slot


async def get_scorer(slot: Annotated[ModelSlot, Depends(get_model_slot)]) -> Scorer:
    """The scorer in use when the request starts (kept to its end, whatever reloads happen meanwhile)."""
    return slot.current


async def get_prediction_log(request: Request) -> PredictionLog:
    log: PredictionLog = request.app.state.prediction_log
    return log


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def scoring_slot(request: Request) -> AsyncIterator[None]:
    """Wait (bounded) for one of the worker's scoring slots, before the handler's thread is taken."""
    gate: ScoringGate = request.app.state.gate
    async with gate.slot():
        yield
