"""``POST /v1/claims/score`` and ``POST /v1/claims/audit``: JSON claims in the domain schema."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from claims.model import Authorization, Claim
from features.context import annotate_claims
from serving.dependencies import get_app_settings, get_metrics, get_prediction_log, get_scorer, scoring_slot
from serving.errors import TooManyClaims
from serving.lifecycle import Metrics
from serving.prediction_log import LogRow, PredictionLog
from serving.schemas import (
    AuditRequest,
    AuditResponse,
    ClaimAudit,
    ScoreRequest,
    ScoreResponse,
    action_summary,
    claim_score,
    finding_out,
)
from serving.scorer import ClaimResult, Explain, Scorer
from serving.settings import Settings

__all__ = ["router", "run_scoring", "score_claims"]

router = APIRouter(prefix="/v1/claims", tags=["claims"])
logger = logging.getLogger("serving.scoring")

ExplainQuery = Annotated[
    Explain,
    Query(description="auto: lines with a finding or high risk; all: every line; none: no reasons"),
]


def _log_rows(results: Sequence[ClaimResult], claims: Sequence[Claim], scorer: Scorer, request_id: str,
              latency_ms: float) -> list[LogRow]:  # fmt: skip
    info = scorer.info
    rows = []
    for result, claim in zip(results, claims, strict=True):
        for line in result.lines:
            rows.append(
                LogRow(
                    request_id=request_id,
                    claim_key=result.claim_key,
                    patient_key=result.patient_key,
                    line_number=line.line_number,
                    procedure_code=line.procedure_code,
                    payer_id=claim.payer.payer_id,
                    model_name=info.name,
                    model_version=info.version,
                    features_digest=line.features_digest,
                    probability=line.probability,
                    category=line.category,
                    category_probability=line.category_probability,
                    latency_ms=latency_ms,
                )
            )
    return rows


async def run_scoring(
    claims: Sequence[Claim], authorizations: Sequence[Authorization] | None, **options: Any
) -> ScoreResponse:
    """:func:`score_claims` on the event loop when the request is small, else in the thread pool.

    Scoring is CPU-bound and holds the GIL: a thread gains no parallelism, and each hand-over between the
    event loop's thread and a pool thread waits for the GIL (up to the 5 ms switch interval when the other
    thread is busy), which cost more than scoring a 10-line claim. Large requests still go to a thread so
    that ``/healthz`` and the slot queue's time-outs keep answering while they are scored.
    """
    settings: Settings = options["settings"]
    if sum(len(c.lines) for c in claims) <= settings.inline_max_lines:
        return score_claims(claims, authorizations, **options)
    return await run_in_threadpool(score_claims, claims, authorizations, **options)


def score_claims(
    claims: Sequence[Claim],
    authorizations: Sequence[Authorization] | None,
    *,
    explain: Explain,
    scorer: Scorer,
    settings: Settings,
    log: PredictionLog,
    metrics: Metrics,
    request: Request,
    errors: Sequence[str] = (),
) -> ScoreResponse:
    """Score, log every line (off the request path), and build the response."""
    if len(claims) > settings.max_claims_per_request:
        raise TooManyClaims(
            f"{len(claims)} claims in one request; at most {settings.max_claims_per_request} "
            "(split the batch, or use `denials score` for files)",
            limit=settings.max_claims_per_request,
        )
    started = time.perf_counter()
    results = scorer.score(claims, authorizations=authorizations, explain=explain)
    scores = [claim_score(r) for r in results]
    latency_ms = (time.perf_counter() - started) * 1000
    request_id = getattr(request.state, "request_id", "")
    log.append(_log_rows(results, claims, scorer, request_id, latency_ms))
    metrics.scored(len(results), sum(len(r.lines) for r in results))
    logger.info(
        "scored %d claims (%s) in %.1f ms, request %s",
        len(results),
        ",".join(r.claim_key for r in results[:10]) + ("..." if len(results) > 10 else ""),
        latency_ms,
        request_id,
    )
    info = scorer.info
    return ScoreResponse(
        model=f"{info.name} version {info.version}" if info.version else info.name,
        claims=scores,
        top_actions=action_summary(scores),
        errors=list(errors),
    )


@router.post(
    "/score",
    response_model=ScoreResponse,
    dependencies=[Depends(scoring_slot)],
    summary="Score one claim or a list: risk, reasons, findings and the risk after each fix",
)
async def score(
    body: ScoreRequest,
    request: Request,
    scorer: Annotated[Scorer, Depends(get_scorer)],
    settings: Annotated[Settings, Depends(get_app_settings)],
    log: Annotated[PredictionLog, Depends(get_prediction_log)],
    metrics: Annotated[Metrics, Depends(get_metrics)],
    explain: ExplainQuery = "auto",
) -> ScoreResponse:
    return await run_scoring(
        body.all_claims,
        body.authorizations,
        explain=explain,
        scorer=scorer,
        settings=settings,
        log=log,
        metrics=metrics,
        request=request,
    )


@router.post("/audit", response_model=AuditResponse, summary="Coding audit findings only (no model)")
def audit(
    body: AuditRequest,
    request: Request,
    settings: Annotated[Settings, Depends(get_app_settings)],
) -> AuditResponse:
    claims = body.all_claims
    if len(claims) > settings.max_claims_per_request:
        raise TooManyClaims(
            f"{len(claims)} claims in one request; at most {settings.max_claims_per_request}",
            limit=settings.max_claims_per_request,
        )
    payers = request.app.state.payers
    out = []
    for claim in claims:
        auths = (
            None
            if body.authorizations is None
            else [
                a
                for a in body.authorizations
                if (a.payer_id, a.member_id) == (claim.payer.payer_id, claim.patient.member_id)
            ]
        )
        _, [findings] = annotate_claims([claim], payers=payers, authorizations=auths)
        out.append(ClaimAudit(claim_id=claim.claim_id, findings=[finding_out(f) for f in findings]))
    return AuditResponse(claims=out)
