"""Batch scoring (``denials score``): files of any size in, the API's content out, in bounded memory.

Inputs: X12 837P/837I, JSON (a claim, a list of claims, ``{"claims": [...]}``, or JSON Lines with one claim
per line), and line tables (Parquet or CSV with the submitted columns of ``claims.ingest``, as written by
``denials ingest`` or ``denials simulate``). Tables are read in chunks of rows (a claim cut by a chunk
boundary is carried into the next chunk), claims are scored in chunks by the same
:class:`~serving.scorer.Scorer` the API uses, and each chunk is written before the next is read.

Outputs: ``.jsonl`` (one API ``ClaimScore`` object per line), ``.json`` (a JSON array of them), or ``.csv``
/ ``.parquet`` (one row per line: the line's scores and its claim's, reasons as text, findings and actions
as JSON).
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import TypeAdapter, ValidationError

from claims.errors import X12Error
from claims.model import Authorization, Claim
from features.context import authorizations_from_frame, claims_from_frame
from serving.errors import InvalidInput
from serving.schemas import actions_out, claim_fields, claim_score, findings_out, line_fields
from serving.scorer import ClaimInput, ClaimResult, Explain, Scorer

__all__ = ["TABLE_COLUMNS", "BatchSummary", "read_authorizations", "score_files"]

#: The line-table columns a Parquet or CSV input needs.
TABLE_COLUMNS: tuple[str, ...] = (
    "claim_id", "form", "frequency_code", "payer_id", "payer_name", "plan_type", "member_key", "patient_age",
    "patient_sex", "is_dependent", "billing_npi", "place_of_service", "type_of_bill", "diagnoses",
    "condition_codes", "clinical_trial_number", "claim_prior_authorization", "submission_date",
    "line_number", "procedure_code", "modifiers", "units", "line_charge", "service_date",
    "diagnosis_pointers", "revenue_code", "ndc", "ndc_quantity", "ndc_unit", "line_prior_authorization",
    "line_control_number",
)  # fmt: skip
_DATE_COLUMNS = ("submission_date", "service_date")
_FLOAT_COLUMNS = ("units", "line_charge", "ndc_quantity", "patient_age")
_INT_COLUMNS = ("line_number",)
_ROW_COLUMNS = {
    "claim_id": pa.string(),
    "line_number": pa.int32(),
    "procedure_code": pa.string(),
    "charge": pa.float64(),
    "denial_probability": pa.float64(),
    "likely_category": pa.string(),
    "category_probability": pa.float64(),
    "claim_risk": pa.float64(),
    "claim_expected_denied_dollars": pa.float64(),
    "reasons": pa.string(),
    "findings": pa.string(),
    "actions": pa.string(),
    "warnings": pa.string(),
}
_ROW_SCHEMA = pa.schema(list(_ROW_COLUMNS.items()))
_CLAIMS = TypeAdapter(list[Claim])
_CLAIM = TypeAdapter(Claim)
_AUTHS = TypeAdapter(list[Authorization])


@dataclass
class BatchSummary:
    files: int = 0
    claims: int = 0
    lines: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- reading -----------------------------------------------------------------------------------------------


def _table_chunk(frame: pd.DataFrame, source: str) -> list[ClaimInput]:
    missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{source}: the line table lacks the columns {', '.join(missing)}")
    for name in ("rendering_npi", "line_prior_authorization", "line_control_number"):
        if name not in frame.columns:
            frame[name] = None
    claims = claims_from_frame(frame)
    ages = frame["patient_age"].to_numpy()
    dependent = frame["is_dependent"].to_numpy()
    inputs, row = [], 0
    for claim in claims:
        overrides = {"patient_age": float(ages[row]), "is_dependent": bool(dependent[row])}
        inputs.append(ClaimInput(claim, overrides))
        row += len(claim.lines)
    return inputs


def _split_last_claim(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of complete claims, and those of the last claim (it may go on in the next chunk).

    A claim is its id and submission date; only the rows of the last id are compared by date (turning the
    whole chunk's dates into text took a second of the parent's time per million lines). Missing dates
    compare equal, as in ``claims_from_frame``.
    """
    ids = frame["claim_id"].to_numpy()
    end = len(frame)
    start = end - 1
    while start > 0 and ids[start - 1] == ids[end - 1]:
        start -= 1
    tail = frame["submission_date"].iloc[start:]
    # Missing dates are one value, as when the claims are built (a claim not yet submitted stays whole).
    days = tail.astype(str).where(tail.notna(), "").to_numpy()
    last = len(days) - 1
    while last > 0 and days[last - 1] == days[-1]:
        last -= 1
    start += last
    return frame.iloc[:start], frame.iloc[start:]


def _parse_csv(frame: pd.DataFrame) -> pd.DataFrame:
    for name in _DATE_COLUMNS:
        if name in frame:
            frame[name] = [dt.date.fromisoformat(v) if v else None for v in frame[name]]
    for name in _FLOAT_COLUMNS:
        if name in frame:
            frame[name] = pd.to_numeric(frame[name].replace("", None), errors="coerce").astype("float64")
    for name in _INT_COLUMNS:
        if name in frame:
            frame[name] = pd.to_numeric(frame[name]).astype("int64")
    if "is_dependent" in frame:
        frame["is_dependent"] = frame["is_dependent"].str.lower().isin(("true", "1", "yes"))
    for name in frame.columns:
        if frame[name].dtype == object or str(frame[name].dtype) == "str":
            frame[name] = frame[name].replace("", None)
    return frame


def _table_frames(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    if path.suffix.lower() == ".parquet":
        handle = pq.ParquetFile(path)
        names = [c for c in handle.schema_arrow.names if c in (*TABLE_COLUMNS, "rendering_npi")]
        for batch in handle.iter_batches(batch_size=rows, columns=names):
            yield batch.to_pandas()
    else:
        yield from (
            _parse_csv(chunk) for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=rows)
        )


def _read_json(path: Path, chunk_claims: int, errors: list[str]) -> Iterator[list[ClaimInput]]:
    if path.suffix.lower() == ".jsonl":
        chunk: list[ClaimInput] = []
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    chunk.append(ClaimInput(_CLAIM.validate_json(raw)))
                except ValidationError as e:
                    errors.append(f"{path}: line {number}: {_first_error(e)}")
                if len(chunk) >= chunk_claims:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk
        return
    data = path.read_bytes()
    try:
        parsed = json.loads(data)
        if isinstance(parsed, dict) and "claims" in parsed:
            claims = _CLAIMS.validate_python(parsed["claims"])
        elif isinstance(parsed, dict):
            claims = [_CLAIM.validate_python(parsed)]
        else:
            claims = _CLAIMS.validate_python(parsed)
    except json.JSONDecodeError as e:
        errors.append(f"{path}: not JSON (line {e.lineno}, column {e.colno}: {e.msg})")
        return
    except ValidationError as e:
        errors.append(f"{path}: {_first_error(e)}")
        return
    for start in range(0, len(claims), chunk_claims):
        yield [ClaimInput(c) for c in claims[start : start + chunk_claims]]


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _read_x12(path: Path, chunk_claims: int, errors: list[str]) -> Iterator[list[ClaimInput]]:
    from claims.x12 import read_x12  # imported when needed: x12sdk takes ~0.3 s

    doc = read_x12(path)
    errors.extend(e.one_line() if isinstance(e, X12Error) else str(e) for e in doc.errors)
    if not doc.claims and not doc.errors:
        errors.append(f"{path}: no 837 claims in the file")
    for start in range(0, len(doc.claims), chunk_claims):
        yield [ClaimInput(c) for c in doc.claims[start : start + chunk_claims]]


def _read(path: Path, chunk_claims: int, errors: list[str]) -> Iterator[list[ClaimInput]]:
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(64).lstrip()
    if suffix in (".json", ".jsonl") or head[:1] in (b"{", b"["):
        yield from _read_json(path, chunk_claims, errors)
    else:
        yield from _read_x12(path, chunk_claims, errors)


def read_authorizations(path: Path) -> list[Authorization]:
    """Authorizations on file: an ``authorizations.parquet`` table or a JSON list."""
    if path.suffix.lower() == ".parquet":
        return authorizations_from_frame(pd.read_parquet(path))
    try:
        return _AUTHS.validate_json(path.read_bytes())
    except ValidationError as e:
        raise InvalidInput(f"{path}: not a JSON list of authorizations ({_first_error(e)})") from e


# --- writing -----------------------------------------------------------------------------------------------


def _columns(results: Sequence[ClaimResult]) -> dict[str, list[Any]]:
    """The output table of scored claims, a line a row: the values of their API ``ClaimScore`` (the same
    rounding, from the same helpers), lists and objects as text, without building the lines' response
    objects."""
    columns: dict[str, list[Any]] = {name: [] for name in _ROW_COLUMNS}
    reasons, found = columns["reasons"], columns["findings"]
    for result in results:
        n = len(result.lines)
        claim = claim_fields(result)
        actions = actions_out(result)
        for name, value in (
            ("claim_id", claim["claim_id"]),
            ("claim_risk", claim["claim_risk"]),
            ("claim_expected_denied_dollars", claim["expected_denied_dollars"]),
            ("actions", json.dumps([a.model_dump(mode="json") for a in actions]) if actions else None),
            ("warnings", " | ".join(result.warnings) or None),
        ):
            columns[name] += [value] * n
        findings = [f.model_dump(mode="json") for f in findings_out(result)] if result.findings else []
        for line in result.lines:
            for name, value in line_fields(line).items():
                columns[name].append(value)
            reasons.append(None if line.reasons is None else "; ".join(r.text for r in line.reasons))
            found.append(json.dumps([findings[i] for i in line.findings]) if line.findings else None)
    return columns


@dataclass
class _Rendered:
    """A scored chunk in the output's form: an Arrow table (Parquet), row dicts (CSV) or JSON texts."""

    claims: int
    lines: int
    payload: Any


def _output_kind(out: Path) -> str:
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("jsonl", "json", "csv", "parquet"):
        raise InvalidInput(f"{out}: write .jsonl, .json, .csv or .parquet")
    return kind


def _render(results: Sequence[ClaimResult], kind: str) -> _Rendered:
    """The output rows of ``results``, built where they were scored: the parent process only writes."""
    lines = sum(len(r.lines) for r in results)
    payload: Any
    if kind == "parquet":
        payload = pa.Table.from_pydict(_columns(results), schema=_ROW_SCHEMA)
    elif kind == "csv":
        columns = _columns(results)
        payload = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    else:
        payload = [claim_score(r).model_dump_json() for r in results]
    return _Rendered(len(results), lines, payload)


class _Writer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.kind = _output_kind(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self._parquet: pq.ParquetWriter | None = None
        self._text: IO[str] | None = None
        self._csv: Any = None
        self._first = True
        if self.kind == "parquet":
            self._parquet = pq.ParquetWriter(out, _ROW_SCHEMA)
        else:
            self._text = out.open("w", newline="" if self.kind == "csv" else None)
            if self.kind == "json":
                self._text.write("[\n")
            if self.kind == "csv":
                self._csv = csv.DictWriter(self._text, fieldnames=list(_ROW_COLUMNS))
                self._csv.writeheader()

    def write(self, rendered: _Rendered) -> None:
        """Write one chunk rendered by :func:`_render` (in a worker process when there are several)."""
        if self._parquet is not None:
            self._parquet.write_table(rendered.payload)
            return
        assert self._text is not None
        if self._csv is not None:
            self._csv.writerows(rendered.payload)
            return
        for text in rendered.payload:
            if self.kind == "json":
                text = ("" if self._first else ",\n") + text
                self._first = False
            else:
                text += "\n"
            self._text.write(text)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._text is not None:
            if self.kind == "json":
                self._text.write("\n]\n")
            self._text.close()


#: The worker processes' scoring set-up (inherited through fork, not pickled).
_worker: dict[str, Any] = {}


def _init_worker(scorer: Scorer, authorizations: Sequence[Authorization] | None, explain: Explain,
                 fixes: bool, kind: str) -> None:  # fmt: skip
    # The heap as set up (the model, code tables; in a worker, inherited by fork) out of the cyclic
    # collector's sight: no full collection walks it again (nor copies a worker's pages from the parent).
    gc.freeze()
    _worker.update(scorer=scorer, authorizations=authorizations, explain=explain, fixes=fixes, kind=kind)


def _score_unit(unit: pd.DataFrame | list[ClaimInput], source: str = "") -> _Rendered:
    """Score one chunk and render its output rows (a table chunk is turned into claims here, in the worker).

    The cyclic collector is paused for the chunk and run once after it: scoring makes no reference cycles
    (the audit's were removed), but its hundreds of thousands of short-lived containers set off young
    collections that cost ~12% of a chunk's time. The collection runs once the chunk's claims and results
    are freed (they live in ``_score_chunk``'s frame): run while they were alive, it walked them all, ~7%.
    """
    gc.disable()
    try:
        return _score_chunk(unit, source)
    finally:
        gc.enable()
        gc.collect()


def _score_chunk(unit: pd.DataFrame | list[ClaimInput], source: str) -> _Rendered:
    inputs = _table_chunk(unit, source) if isinstance(unit, pd.DataFrame) else unit
    results = _worker["scorer"].score(
        inputs,
        authorizations=_worker["authorizations"],
        explain=_worker["explain"],
        fixes=_worker["fixes"],
    )
    return _render(results, _worker["kind"])


def _units(path: Path, chunk_claims: int, chunk_lines: int, errors: list[str]) -> Iterator[Any]:
    """Work units of a file: table chunks (DataFrames of whole claims) or lists of claims."""
    if path.suffix.lower() in (".parquet", ".csv"):
        carry: pd.DataFrame | None = None
        for frame in _table_frames(path, chunk_lines):
            if carry is not None and len(carry):
                frame = pd.concat([carry, frame], ignore_index=True)
            if not len(frame):
                continue
            complete, carry = _split_last_claim(frame)
            if len(complete):
                yield complete.reset_index(drop=True)
        if carry is not None and len(carry):
            yield carry.reset_index(drop=True)
        return
    yield from _read(path, chunk_claims, errors)


def score_files(
    paths: Sequence[Path],
    out: Path,
    *,
    scorer: Scorer,
    authorizations: Sequence[Authorization] | None = None,
    explain: Explain = "auto",
    fixes: bool = True,
    jobs: int = 1,
    chunk_claims: int = 2_000,
    chunk_lines: int = 20_000,
    on_lines: Callable[[int], None] | None = None,
) -> BatchSummary:
    """Score every claim of ``paths`` into ``out``; bad files and claims are reported in the summary.

    ``jobs`` > 1 scores chunks in that many forked worker processes (at most two chunks each in flight,
    so memory stays bounded); the output keeps the input's order either way.

    >>> summary = score_files([Path("claims.837p")], Path("scores.csv"), scorer=scorer)  # doctest: +SKIP
    """
    started = time.perf_counter()
    summary = BatchSummary()
    writer = _Writer(out)
    _init_worker(scorer, authorizations, explain, fixes, writer.kind)
    pool = (
        ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(scorer, authorizations, explain, fixes, writer.kind),
        )
        if jobs > 1
        else None
    )

    def done(rendered: _Rendered) -> None:
        writer.write(rendered)
        summary.claims += rendered.claims
        summary.lines += rendered.lines
        if on_lines is not None:
            on_lines(rendered.lines)

    try:
        for path in paths:
            summary.files += 1
            if not path.is_file():
                summary.errors.append(f"{path}: no such file")
                continue
            pending: deque[Future[_Rendered]] = deque()
            try:
                for unit in _units(path, chunk_claims, chunk_lines, summary.errors):
                    if pool is None:
                        done(_score_unit(unit, str(path)))
                        continue
                    pending.append(pool.submit(_score_unit, unit, str(path)))
                    while len(pending) >= 2 * jobs:
                        done(pending.popleft().result())
                while pending:
                    done(pending.popleft().result())
            except InvalidInput as e:
                for future in pending:
                    future.cancel()
                summary.errors.append(e.detail)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        writer.close()
        _worker.clear()
    summary.seconds = time.perf_counter() - started
    return summary
