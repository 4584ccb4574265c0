"""The app factory: ``create_app(settings)`` builds the FastAPI application; nothing happens at import.

The lifespan loads the model (registry, cache or folder; :mod:`serving.model_store`), checks it and builds
the scorer, opens the prediction log and, when configured, starts the periodic registry check. Two pure
ASGI middlewares wrap every request: one gives it an id and logs one line (method, path, status, time;
never the body), the other refuses bodies over the size limit with a 413 problem before they are read.

>>> app = create_app(Settings(demo=True))  # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from features.context import payers_by_id
from serving.errors import BodyTooLarge
from serving.lifecycle import Metrics, ModelSlot, ScoringGate
from serving.model_store import LoadedModel, load_model, registry_version
from serving.prediction_log import open_prediction_log
from serving.problems import install_problem_handlers, problem
from serving.routes import claims, health, model, x12
from serving.scorer import ModelScorer, Scorer
from serving.security import KeyChecker, require_api_key
from serving.settings import Settings, get_settings

__all__ = ["ModelLoader", "VersionCheck", "create_app", "create_app_from_env", "log_config"]

logger = logging.getLogger("serving")
access = logging.getLogger("serving.access")
errors = logging.getLogger("serving.errors")

#: Loads the model the settings name (tests pass their own).
ModelLoader = Callable[[Settings], LoadedModel]
#: The version the registry alias points to now (None: not an alias URI).
VersionCheck = Callable[[Settings], "str | None"]


def _load(settings: Settings) -> LoadedModel:
    return load_model(settings.model_uri, tracking_uri=settings.tracking_uri, cache=settings.model_cache)


def _registry_version(settings: Settings) -> str | None:
    return registry_version(settings.model_uri, tracking_uri=settings.tracking_uri)


class RequestContext:
    """Request id (``X-Request-ID``), the one access-log line, and the request counters."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Handled here, not re-raised: the server would log the exception's message, which may quote
            # the request (a name, a birth date). The log gets the type and the request id only.
            status = 500
            errors.error("unexpected %s on %s (request %s)", type(exc).__name__, scope["path"], request_id)
            if not response_started:
                response = problem(
                    500,
                    "Internal error",
                    "the service failed on this request; the error was logged with its request id",
                    type_="internal",
                    instance=scope["path"],
                    request_id=request_id,
                )
                await response(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.request(path, status)
            access.info(
                "%s %s %d %.1f ms request %s",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
            )


class BodyLimit:
    """413 for bodies over ``max_bytes``: by Content-Length up front, or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = problem(
                413,
                BodyTooLarge.title,
                f"the body has {int(declared)} bytes; at most {self.max_bytes} are accepted",
                type_=BodyTooLarge.type,
                limit=self.max_bytes,
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(
                        f"the body is over {self.max_bytes} bytes, the most accepted", limit=self.max_bytes
                    )
            return message

        await self.app(scope, counted, send)


async def _watch_registry(app: FastAPI, settings: Settings, check: VersionCheck) -> None:
    """Every ``reload_interval_s``: if the alias points to another version, reload (errors are logged)."""
    slot: ModelSlot = app.state.models
    while True:
        await asyncio.sleep(settings.reload_interval_s)
        try:
            version = await run_in_threadpool(check, settings)
            if version is not None and slot.loaded and version != slot.current.info.version:
                logger.info("the registry alias now points to version %s: reloading", version)
                await run_in_threadpool(slot.reload)
        except Exception as e:  # keep watching; the current model keeps serving
            logger.warning("registry check failed: %s", type(e).__name__)


def create_app(
    settings: Settings | None = None,
    *,
    loader: ModelLoader | None = None,
    version_check: VersionCheck | None = None,
) -> FastAPI:
    """The scoring service. ``settings`` default to the environment's; ``loader`` and ``version_check``
    (the periodic registry check) to the model store's."""
    settings = (settings or get_settings()).with_demo_key()
    load = loader or _load
    payers = payers_by_id()

    def build() -> Scorer:
        loaded = load(settings)
        scorer = ModelScorer(
            loaded.model,
            loaded.info,
            salt=settings.salt(),
            payers=payers,
            **settings.explain_options(),
        )
        if settings.compiled_trees:
            scorer.use_compiled(settings.model_cache / "compiled")
        return scorer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.demo:
            logger.warning(
                "DEMO MODE: listening on %s only, with a demo API key; not for patient data", settings.host
            )
        app.state.prediction_log = open_prediction_log(
            settings.prediction_log_url, capacity=settings.prediction_log_queue
        )
        await run_in_threadpool(app.state.models.load)
        watcher = None
        if settings.reload_interval_s > 0:
            watcher = asyncio.create_task(_watch_registry(app, settings, version_check or _registry_version))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await run_in_threadpool(app.state.prediction_log.close)

    app = FastAPI(
        title="Oncology claim denial prediction",
        version="1",
        summary="Which lines of an oncology claim will be denied, why, and what to change, before submission.",
        lifespan=lifespan,
    )
    metrics = Metrics()
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.payers = payers
    app.state.keys = KeyChecker(settings.accepted_key_hashes())
    app.state.models = ModelSlot(build)
    app.state.gate = ScoringGate(settings.max_in_flight, settings.queue_timeout_s, metrics)
    app.state.prediction_log = open_prediction_log("")
    install_problem_handlers(app)
    secured: list[Any] = [Depends(require_api_key)]
    for router in (claims.router, x12.router, model.router):
        app.include_router(router, dependencies=secured)
    app.include_router(health.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext, metrics=metrics)
    return app


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration plus the service's loggers (``serving``, ``serving.access``, ...)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["serving"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def create_app_from_env() -> FastAPI:
    """The factory uvicorn workers call (``uvicorn --factory serving.app:create_app_from_env``)."""
    return create_app(get_settings())
