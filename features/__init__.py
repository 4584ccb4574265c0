"""Claim lines -> features: point-in-time context, the feature builder and catalogue, the model artifact.

>>> from features import LineFeatureBuilder, DenialModel, annotate_claims  # doctest: +SKIP
"""

from features.builder import INPUT_COLUMNS, LABEL_COLUMNS, LineFeatureBuilder
from features.catalogue import GROUP_TEXT, FeatureSpec, audit_group, catalogue, catalogue_markdown
from features.context import (
    AUTH_STATUSES,
    CONTEXT_COLUMNS,
    annotate_claims,
    annotate_frame,
    claims_from_frame,
)
from features.history import PointInTimeRates
from features.model import DenialModel, LineScores

__all__ = [
    "AUTH_STATUSES",
    "CONTEXT_COLUMNS",
    "GROUP_TEXT",
    "INPUT_COLUMNS",
    "LABEL_COLUMNS",
    "DenialModel",
    "FeatureSpec",
    "LineFeatureBuilder",
    "LineScores",
    "PointInTimeRates",
    "annotate_claims",
    "annotate_frame",
    "audit_group",
    "catalogue",
    "catalogue_markdown",
    "claims_from_frame",
]
