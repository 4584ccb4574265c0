"""``GET /healthz`` (the process answers), ``GET /readyz`` (a model is loaded and scores), ``GET /metrics``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse

from serving.dependencies import get_metrics, get_model_slot, get_prediction_log
from serving.lifecycle import Metrics, ModelSlot
from serving.prediction_log import PredictionLog
from serving.problems import problem

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", summary="A model is loaded and answers", response_model=None)
def readyz(
    slot: Annotated[ModelSlot, Depends(get_model_slot)],
    log: Annotated[PredictionLog, Depends(get_prediction_log)],
) -> dict[str, Any] | JSONResponse:
    status = log.status()
    if not slot.loaded:
        return problem(503, "Not ready", "no model is loaded", type_="not-ready", prediction_log=status)
    scorer = slot.current
    info = scorer.info
    if not scorer.probe():
        return problem(503, "Not ready", "the model does not answer its probe claim", type_="not-ready")
    return {
        "status": "ready",
        "model": {"name": info.name, "version": info.version, "source": info.source, "uri": info.uri},
        "predictor": scorer.predictor,
        "from_cache": info.source == "cache",
        "note": info.note,
        "reloads": slot.reloads,
        "failed_reloads": slot.failed_reloads,
        "last_reload_error": slot.last_reload_error,
        "prediction_log": {**status, "healthy": log.healthy},
    }


@router.get("/metrics", response_class=PlainTextResponse, summary="Counters in Prometheus text format")
def metrics(
    slot: Annotated[ModelSlot, Depends(get_model_slot)],
    log: Annotated[PredictionLog, Depends(get_prediction_log)],
    counters: Annotated[Metrics, Depends(get_metrics)],
) -> str:
    lines = [
        "# TYPE denials_requests_total counter",
        *(
            f'denials_requests_total{{route="{route}",status="{status}"}} {n}'
            for (route, status), n in sorted(counters.requests.items())
        ),
        "# TYPE denials_claims_scored_total counter",
        f"denials_claims_scored_total {counters.claims_scored}",
        "# TYPE denials_lines_scored_total counter",
        f"denials_lines_scored_total {counters.lines_scored}",
        "# TYPE denials_rejected_overloaded_total counter",
        f"denials_rejected_overloaded_total {counters.rejected_overloaded}",
        "# TYPE denials_prediction_log_written_total counter",
        f"denials_prediction_log_written_total {log.written}",
        "# TYPE denials_prediction_log_dropped_total counter",
        f"denials_prediction_log_dropped_total {log.dropped}",
        "# TYPE denials_prediction_log_failed_batches_total counter",
        f"denials_prediction_log_failed_batches_total {log.failed_batches}",
        "# TYPE denials_model_reloads_total counter",
        f"denials_model_reloads_total {slot.reloads}",
        "# TYPE denials_model_failed_reloads_total counter",
        f"denials_model_failed_reloads_total {slot.failed_reloads}",
    ]
    if slot.loaded:
        info = slot.current.info
        lines += [
            "# TYPE denials_model_info gauge",
            f'denials_model_info{{name="{info.name}",version="{info.version}",source="{info.source}"}} 1',
        ]
    return "\n".join(lines) + "\n"
