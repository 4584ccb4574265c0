"""The prediction log: every scored line, appended to a database for monitoring (drift, calibration).

Rows hold no patient data: claim and patient ids as salted hashes, the model version, a digest of the
line's feature values, the probability, the likely category and the request's latency. The default is a
SQLite file in WAL mode (readers never block the writer; a crash loses no committed row); any SQLAlchemy
URL points it at a real database.

Writing is off the request path: :meth:`PredictionLog.append` puts the rows on a bounded queue and a
writer thread inserts them in batches, at most ``linger`` (0.25 s) after they are queued. A full queue or
a database error never fails a scoring request; it is counted (``dropped``, ``failed_batches``,
``last_error``) and shown by ``/readyz`` and ``/metrics``.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy.engine import make_url

__all__ = ["PREDICTIONS", "LogRow", "PredictionLog", "open_prediction_log"]

logger = logging.getLogger(__name__)

metadata = MetaData()

#: The table (created if missing).
PREDICTIONS = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("logged_at", DateTime(timezone=True), nullable=False, index=True),
    Column("request_id", String(32), nullable=False),
    Column("claim_key", String(32), nullable=False, index=True),  # salted hash of the claim id
    Column("patient_key", String(32), nullable=False),  # salted hash of the member id
    Column("line_number", Integer, nullable=False),
    Column("procedure_code", String(8), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(40)),
    Column("features_digest", String(32), nullable=False),
    Column("probability", Float, nullable=False),
    Column("category", String(40)),
    Column("category_probability", Float),
    Column("latency_ms", Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class LogRow:
    request_id: str
    claim_key: str
    patient_key: str
    line_number: int
    procedure_code: str
    payer_id: str
    model_name: str
    model_version: str | None
    features_digest: str
    probability: float
    category: str | None
    category_probability: float | None
    latency_ms: float

    def values(self, logged_at: dt.datetime) -> dict[str, Any]:
        return {
            "logged_at": logged_at,
            "request_id": self.request_id,
            "claim_key": self.claim_key,
            "patient_key": self.patient_key,
            "line_number": self.line_number,
            "procedure_code": self.procedure_code,
            "payer_id": self.payer_id,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "features_digest": self.features_digest,
            "probability": self.probability,
            "category": self.category,
            "category_probability": self.category_probability,
            "latency_ms": self.latency_ms,
        }


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a process crash loses nothing committed; only a power cut may lose the last
    # transactions, never corrupt the file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


_STOP = object()


class PredictionLog:
    """Append-only log of scored lines, written by a background thread.

    >>> log = open_prediction_log("sqlite:///predictions.db")  # doctest: +SKIP
    >>> log.append(rows)  # never raises, never blocks  # doctest: +SKIP
    >>> log.close()  # doctest: +SKIP
    """

    def __init__(
        self, engine: Engine | None, *, capacity: int = 10_000, batch: int = 500, linger: float = 0.25
    ) -> None:
        self.engine = engine
        self.capacity = capacity
        self.batch = batch
        self.linger = linger
        self._queue: queue.Queue[Any] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.failed_batches = 0
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None
        if engine is not None:
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return self.engine is not None

    @property
    def healthy(self) -> bool:
        """Nothing lost so far."""
        return self.dropped == 0 and self.failed_batches == 0 and self.last_error is None

    def append(self, rows: Iterable[LogRow]) -> None:
        """Queue rows for writing; when the queue is full they are dropped and counted. Never raises."""
        if self.engine is None:
            if self.last_error is not None:  # configured but broken: the rows are lost, and counted
                self.dropped += len(list(rows))
            return
        items = list(rows)
        with self._lock:
            if self._pending + len(items) > self.capacity:
                self.dropped += len(items)
                return
            self._pending += len(items)
        self._queue.put(items)

    def _run(self) -> None:
        assert self.engine is not None
        stop = False
        while not stop:
            chunks = self._gather()
            rows: list[LogRow] = []
            for chunk in chunks:
                if chunk is _STOP:
                    stop = True
                else:
                    rows.extend(chunk)
            if rows:
                self._write(rows)
            for _ in chunks:
                self._queue.task_done()

    def _gather(self) -> list[Any]:
        """The next chunks to write: waits for one, then up to ``linger`` seconds for ``batch`` rows.

        One transaction per ``linger`` seconds instead of one per request: each write takes the GIL from
        the scoring thread for its Python part, and that hand-over, not the insert, was the cost.
        """
        chunks = [self._queue.get()]
        rows = 0 if chunks[0] is _STOP else len(chunks[0])
        deadline = time.monotonic() + self.linger
        while chunks[-1] is not _STOP and rows < self.batch:
            remaining = deadline - time.monotonic()
            try:
                chunk = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            chunks.append(chunk)
            rows += 0 if chunk is _STOP else len(chunk)
        return chunks

    def _write(self, rows: list[LogRow]) -> None:
        assert self.engine is not None
        now = dt.datetime.now(dt.UTC)
        try:
            with self.engine.begin() as connection:
                for start in range(0, len(rows), self.batch):
                    connection.execute(
                        insert(PREDICTIONS), [r.values(now) for r in rows[start : start + self.batch]]
                    )
            self.written += len(rows)
        except Exception as e:  # any database failure: counted, never raised into a request
            self.failed_batches += 1
            self.dropped += len(rows)
            self.last_error = f"{type(e).__name__} at {now.isoformat(timespec='seconds')}"
            logger.warning("prediction log: %d rows not written (%s)", len(rows), type(e).__name__)
        finally:
            with self._lock:
                self._pending -= len(rows)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row is written (or failed); False on timeout."""
        if self.engine is None:
            return True
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def status(self) -> Mapping[str, Any]:
        return {
            "enabled": self.enabled,
            "written": self.written,
            "queued": self._pending,
            "dropped": self.dropped,
            "failed_batches": self.failed_batches,
            "last_error": self.last_error,
        }

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None
        if self.engine is not None:
            self.engine.dispose()


def open_prediction_log(url: str, *, capacity: int = 10_000) -> PredictionLog:
    """A log writing to ``url`` (created with its table), or a disabled log for an empty URL.

    A database that cannot be opened gives a log that counts every row as failed (the service still
    scores), with the reason in ``last_error``.
    """
    if not url:
        return PredictionLog(None)
    try:
        engine = _engine(url)
        metadata.create_all(engine)
    except Exception as e:
        log = PredictionLog(None)
        log.last_error = f"cannot open the prediction log: {type(e).__name__}"
        logger.warning("prediction log disabled: %s", type(e).__name__)
        return log
    return PredictionLog(engine, capacity=capacity)
