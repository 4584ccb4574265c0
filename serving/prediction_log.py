"""The prediction log: every scored line, appended to a database for monitoring (drift, calibration).

Rows hold no patient data: claim and patient ids as salted hashes, the model version, a digest of the
line's feature values, the probability, the likely category and the request's latency. The default is a
SQLite file in WAL mode (readers never block the writer; a crash loses no committed row); any SQLAlchemy
URL points it at a real database.

Writing is off the request path: :meth:`PredictionLog.append` puts the rows on a bounded queue and a
writer thread inserts what is queued in one transaction about ``linger`` (0.25 s) after the first of them
arrived. A full queue or a database error never fails a scoring request; it is counted (``dropped``,
``failed_batches``, ``last_error``) and shown by ``/readyz`` and ``/metrics``.
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

    def values(self, logged_at: Any) -> tuple[Any, ...]:
        """The row's values in :data:`_COLUMNS` order."""
        return (
            logged_at,
            self.request_id,
            self.claim_key,
            self.patient_key,
            self.line_number,
            self.procedure_code,
            self.payer_id,
            self.model_name,
            self.model_version,
            self.features_digest,
            self.probability,
            self.category,
            self.category_probability,
            self.latency_ms,
        )


#: The inserted columns (all but the autoincrement id), in :meth:`LogRow.values` order.
_COLUMNS: tuple[str, ...] = tuple(c.name for c in PREDICTIONS.columns if c.name != "id")


class _Insert:
    """The INSERT compiled once for the engine's dialect, run with the driver's ``executemany``.

    SQLAlchemy's compiled-statement path processes every row's parameters in Python (about 28 us a row
    on SQLite, holding the GIL the scoring thread needs); the driver's ``executemany`` binds in C (about
    9 us a row, most of it SQLite's own work). The dialect's bind processors still apply: the timestamp's
    once per batch, any other column's per value.
    """

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = insert(PREDICTIONS).compile(dialect=dialect, column_keys=list(_COLUMNS))
        self.sql = str(compiled)
        self.order: list[int] | None = (
            [_COLUMNS.index(name) for name in compiled.positiontup or ()] if compiled.positional else None
        )
        if self.order is not None and sorted(self.order) != list(range(len(_COLUMNS))):
            raise ValueError(f"unexpected INSERT parameters for {dialect.name}: {compiled.positiontup}")
        processors = [
            PREDICTIONS.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _COLUMNS
        ]
        self.stamp = processors[0]
        self.others = [None, *processors[1:]] if any(processors[1:]) else None

    def parameters(self, rows: list[LogRow], logged_at: dt.datetime) -> list[Any]:
        stamp = self.stamp(logged_at) if self.stamp is not None else logged_at
        values = [r.values(stamp) for r in rows]
        if self.others is not None:
            others = self.others
            values = [
                tuple(v if p is None else p(v) for v, p in zip(row, others, strict=True)) for row in values
            ]
        if self.order is None:
            return [dict(zip(_COLUMNS, row, strict=True)) for row in values]
        if self.order != list(range(len(_COLUMNS))):
            return [tuple(row[k] for k in self.order) for row in values]
        return values


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
        self._insert = _Insert(engine) if engine is not None else None
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
        """The next chunks to write: waits for one, sleeps ``linger`` seconds, then takes what is queued.

        One transaction per ``linger`` seconds instead of one per request: each write takes the GIL from
        the scoring thread for its Python part, and that hand-over, not the insert, was the cost. The
        writer sleeps rather than waiting on the queue, so a request's ``append`` does not wake it.
        """
        chunks = [self._queue.get()]
        if chunks[0] is _STOP:
            return chunks
        time.sleep(self.linger)
        while chunks[-1] is not _STOP:
            try:
                chunks.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return chunks

    def _write(self, rows: list[LogRow]) -> None:
        assert self.engine is not None and self._insert is not None
        now = dt.datetime.now(dt.UTC)
        try:
            with self.engine.begin() as connection:
                for start in range(0, len(rows), self.batch):
                    connection.exec_driver_sql(
                        self._insert.sql, self._insert.parameters(rows[start : start + self.batch], now)
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
