"""``POST /v1/x12/837/score``: a raw 837P or 837I body, every claim in it scored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from claims.errors import X12Error
from claims.x12 import read_x12
from serving.dependencies import get_app_settings, get_metrics, get_prediction_log, get_scorer, scoring_slot
from serving.errors import InvalidX12
from serving.lifecycle import Metrics
from serving.prediction_log import PredictionLog
from serving.routes.claims import ExplainQuery, run_scoring
from serving.schemas import ScoreResponse
from serving.scorer import Scorer
from serving.settings import Settings

__all__ = ["router"]

router = APIRouter(prefix="/v1/x12", tags=["x12"])

_MEDIA_TYPES = ("application/edi-x12", "text/plain")
#: Bodies up to this size are parsed on the event loop (a few claims); larger ones in a worker thread.
_INLINE_BYTES = 20_000


def _message(error: Exception) -> str:
    return error.one_line() if isinstance(error, X12Error) else str(error)


async def raw_837(request: Request) -> bytes:
    """The raw body, if it is sent as an X12 media type (else 415)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        raise HTTPException(
            415, f"send the 837 as {' or '.join(_MEDIA_TYPES)}, not {media_type or 'nothing'}"
        )
    return await request.body()


@router.post(
    "/837/score",
    response_model=ScoreResponse,
    dependencies=[Depends(scoring_slot)],
    summary="Score every claim of a raw 837P/837I interchange",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in _MEDIA_TYPES},
        }
    },
)
async def score_837(
    body: Annotated[bytes, Depends(raw_837)],
    request: Request,
    scorer: Annotated[Scorer, Depends(get_scorer)],
    settings: Annotated[Settings, Depends(get_app_settings)],
    log: Annotated[PredictionLog, Depends(get_prediction_log)],
    metrics: Annotated[Metrics, Depends(get_metrics)],
    explain: ExplainQuery = "auto",
) -> ScoreResponse:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        raise HTTPException(
            415, f"send the 837 as {' or '.join(_MEDIA_TYPES)}, not {media_type or 'nothing'}"
        )
    doc = (
        read_x12(body, source="request body")
        if len(body) <= _INLINE_BYTES
        else await run_in_threadpool(read_x12, body, source="request body")
    )
    errors = [_message(e) for e in doc.errors]
    if not doc.claims:
        if doc.remittances:
            errors.append("the body is an 835 remittance; this endpoint scores 837P/837I claims")
        raise InvalidX12(
            errors[0] if errors else "the body holds no claim (expected an 837P or 837I with CLM segments)",
            errors=errors[:100] or ["no CLM segment found"],
        )
    return await run_scoring(
        doc.claims,
        None,
        explain=explain,
        scorer=scorer,
        settings=settings,
        log=log,
        metrics=metrics,
        request=request,
        errors=errors,
    )
