"""The model in use and how it changes: the slot requests take their scorer from, reloads, the gate.

A request takes the current scorer from :class:`ModelSlot` once, when it starts, and keeps it to the end:
a reload builds and probes the new scorer first, then swaps the slot's reference in one assignment, so
requests in flight finish on the model they started with and no request ever sees a half-loaded model.
Reloads come from ``POST /v1/model/reload`` or, when ``reload_interval_s`` is set, from a periodic check
of the registry alias; a failed reload leaves the current model serving and is counted.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from serving.errors import ModelUnavailable, Overloaded, ServingError
from serving.scorer import Scorer

__all__ = ["Metrics", "ModelSlot", "ReloadResult", "ScoringGate"]

logger = logging.getLogger("serving.model")


@dataclass
class ReloadResult:
    changed: bool
    version: str | None
    detail: str


@dataclass
class Metrics:
    """Counters shown by ``/metrics`` (Prometheus text format); counts only, no identifiers."""

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    claims_scored: int = 0
    lines_scored: int = 0
    rejected_overloaded: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, route: str, status: int) -> None:
        with self._lock:
            self.requests[(route, status)] += 1

    def scored(self, claims: int, lines: int) -> None:
        with self._lock:
            self.claims_scored += claims
            self.lines_scored += lines


def _settle_heap(*, full: bool) -> None:
    """Collect, then move every object alive now (the model, the code and reference tables: ~300,000
    objects) out of the cyclic collector's generations with :func:`gc.freeze`.

    Without it, each automatic full collection walks them all: ~170 ms with the GIL held, which stalled
    every request in flight on that worker and set the p99 under load. Frozen objects are still freed by
    reference counting. ``full`` (a reload) first unfreezes, so that reference cycles of the model being
    replaced can be collected once the requests still using it finish; that collection holds the GIL once
    per reload (~0.2 s on a 2-core machine), which delays the requests in flight but fails none.
    """
    if full:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


class ModelSlot:
    """Holds the current scorer; ``reload`` swaps it atomically after the new one answers its probe."""

    def __init__(self, build: Callable[[], Scorer]) -> None:
        self._build = build
        self._current: Scorer | None = None
        self._lock = threading.Lock()
        self.reloads = 0
        self.failed_reloads = 0
        self.last_reload_error: str | None = None

    @property
    def current(self) -> Scorer:
        scorer = self._current
        if scorer is None:
            raise ModelUnavailable("no model is loaded yet")
        return scorer

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def load(self) -> Scorer:
        """Build, probe and install a scorer (at start-up; :meth:`reload` also counts and serialises)."""
        return self._load()

    def _load(self, *, reload: bool = False) -> Scorer:
        started = time.perf_counter()
        scorer = self._build()
        if not scorer.probe():
            raise ModelUnavailable(f"the model {scorer.info.uri} does not answer its probe claim")
        replaced = self._current is not None
        if reload:  # counted before the swap: whoever sees the new model also sees the reload that brought it
            self.reloads += 1
        self._current = scorer
        _settle_heap(full=replaced)
        info = scorer.info
        logger.info(
            "model %s version %s from %s in use (%.1f s)%s",
            info.name,
            info.version,
            info.source,
            time.perf_counter() - started,
            f"; {info.note}" if info.note else "",
        )
        return scorer

    def reload(self) -> ReloadResult:
        """Load the model again (the registry alias may point to a new version); serialised."""
        with self._lock:
            before = self._current.info.version if self._current is not None else None
            try:
                scorer = self._load(reload=True)
            except ServingError as e:
                self.failed_reloads += 1
                self.last_reload_error = e.detail
                logger.warning("reload failed, the current model keeps serving: %s", e.detail)
                raise
            except Exception as e:
                self.failed_reloads += 1
                self.last_reload_error = type(e).__name__
                logger.warning("reload failed, the current model keeps serving: %s", type(e).__name__)
                raise ModelUnavailable(
                    f"the reload failed ({type(e).__name__}); the current model is kept"
                ) from e
            version = scorer.info.version
            return ReloadResult(version != before, version, f"version {before} -> {version}")


class ScoringGate:
    """Bounds the scoring work in flight: a request waits for a slot at most ``timeout`` seconds, then
    gets a 503 with Retry-After, instead of queueing without bound behind CPU-bound work."""

    def __init__(self, slots: int, timeout: float, metrics: Metrics) -> None:
        self.slots = slots
        self.timeout = timeout
        self.metrics = metrics
        self._semaphore: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.timeout)
        except TimeoutError:
            self.metrics.rejected_overloaded += 1
            raise Overloaded(
                f"all {self.slots} scoring slots stayed busy for {self.timeout:g} s; retry shortly"
            ) from None
        try:
            yield
        finally:
            self._semaphore.release()
