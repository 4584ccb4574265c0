"""Exceptions of the ``serving`` package; :mod:`serving.problems` turns them into RFC 9457 problems.

Each error says what was wrong and where (claim index, line number, X12 segment position) and what was
expected, and never carries patient data: messages are built from positions, codes and counts only.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BodyTooLarge",
    "FeatureSchemaMismatch",
    "InvalidInput",
    "InvalidX12",
    "ModelLoadError",
    "ModelUnavailable",
    "Overloaded",
    "ServingError",
    "TooManyClaims",
]


class ServingError(Exception):
    """Base class: an HTTP status, a problem type (a short slug) and a title."""

    status = 500
    type = "internal"
    title = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class ModelLoadError(ServingError):
    """A model could not be loaded (registry, cache and folder all failed)."""

    status = 503
    type = "model-load"
    title = "The model could not be loaded"


class FeatureSchemaMismatch(ModelLoadError):
    """The model was trained with features other than the ones this code builds."""

    type = "feature-schema-mismatch"
    title = "The model's feature schema does not match the code"


class ModelUnavailable(ServingError):
    status = 503
    type = "model-unavailable"
    title = "No model is loaded"


class Overloaded(ServingError):
    """Every scoring slot stayed busy for the queue timeout: the caller should retry."""

    status = 503
    type = "overloaded"
    title = "The service is busy"


class BodyTooLarge(ServingError):
    status = 413
    type = "body-too-large"
    title = "Request body too large"


class TooManyClaims(ServingError):
    status = 413
    type = "too-many-claims"
    title = "Too many claims in one request"


class InvalidX12(ServingError):
    """The 837 body could not be read; ``errors`` lists each problem with its segment position."""

    status = 400
    type = "invalid-x12"
    title = "Invalid X12 837"


class InvalidInput(ServingError):
    """A batch input file or row that cannot be scored (the CLI reports it and goes on)."""

    status = 400
    type = "invalid-input"
    title = "Invalid input"
