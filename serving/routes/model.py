"""``GET /v1/model`` (the model in use) and ``POST /v1/model/reload`` (load the registry's champion again)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from serving.dependencies import get_model_slot, get_scorer
from serving.lifecycle import ModelSlot
from serving.schemas import ModelOut
from serving.scorer import Scorer

__all__ = ["router"]

router = APIRouter(prefix="/v1/model", tags=["model"])


@router.get("", response_model=ModelOut, summary="The model in use")
def model_info(scorer: Annotated[Scorer, Depends(get_scorer)]) -> ModelOut:
    return ModelOut(**scorer.info.to_dict())


@router.post(
    "/reload",
    summary="Load the model URI again (e.g. a new champion) without a restart",
    description="Requests in flight finish on the model they started with; a failed reload keeps the "
    "current model serving (503 with the reason).",
)
async def reload(slot: Annotated[ModelSlot, Depends(get_model_slot)]) -> dict[str, Any]:
    result = await run_in_threadpool(slot.reload)
    return {"changed": result.changed, "version": result.version, "detail": result.detail}
