"""``simulate_practice``: a seeded oncology practice, its payers and the ground truth, end to end.

Outputs (``write_simulation``), all derived from one seed (same seed, same bytes):

- ``lines.parquet``: the claim lines as submitted (the claim and line columns of the ingest table);
- ``outcomes.parquet``: per line, what the 835 said (``outcome_*``) and the label (``label_*``), keyed by
  ``claim_id``, ``submission_date`` and ``line_number``;
- ``authorizations.parquet``: the prior authorizations on file (member ids hashed);
- ``truth.parquet``: per line, the true denial probability and reason under the payer's policy, whether a
  deterministic public rule could have caught it, and the coder errors injected on the line or claim;
- with ``x12=True``, ``x12/claims_YYYY-MM.837p|837i`` and ``x12/remits_YYYY-MM.835`` (real X12).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import multiprocessing
import os
import random
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from claims.enums import ClaimForm
from claims.ingest import LINE_TABLE_COLUMNS, claim_values, hash_identifier
from claims.join import JoinReport, adjudications, claim_level_outcome, match_lines
from claims.label import label_line
from claims.model import Authorization, Claim, ClaimLine, ClaimPayment, LineOutcome, Remittance
from claims.policy import load_payers
from claims.reference import load_drugs
from claims.simulate.adjudication import LineTruth, adjudicate, unit_limits
from claims.simulate.clinical import load_cancers, load_premedications, load_regimens
from claims.simulate.config import SimulationConfig
from claims.simulate.mistakes import inject_mistakes
from claims.simulate.practice import PatientProfile, build_practice, dose_of
from claims.x12 import write_835, write_837

__all__ = ["SimulationResult", "max_doses", "simulate_practice", "write_simulation"]

OUTCOME_KEYS = ("claim_id", "submission_date", "line_number")


@dataclass
class SimulationResult:
    """Submitted claims, authorizations, remittances and the truth of one simulation.

    The payers' adjudication of the claims (``remittances`` and ``truth``) is decided when first needed:
    by reading either, or by :func:`write_simulation`, which meanwhile writes what depends on the claims
    alone. It is the same whenever it runs: it draws from the simulation's own random generator, left as
    the practice's simulation ended.
    """

    config: SimulationConfig
    claims: list[Claim]
    authorizations: list[Authorization]
    errors: list[tuple[int, int | None, str]]  # (claim index, line or None, error type)
    profiles: dict[str, PatientProfile]
    _pending: Callable[[], tuple[list[Remittance], list[LineTruth]]] | None = field(
        default=None, repr=False, compare=False
    )
    _decided: tuple[list[Remittance], list[LineTruth]] | None = field(default=None, repr=False, compare=False)

    @property
    def remittances(self) -> list[Remittance]:
        """The 835 remittances: one per payer and week."""
        return self._decide()[0]

    @property
    def truth(self) -> list[LineTruth]:
        """The ground truth of every submitted line."""
        return self._decide()[1]

    def _decide(self) -> tuple[list[Remittance], list[LineTruth]]:
        if self._decided is None:
            assert self._pending is not None, "a result holds its adjudication or the way to decide it"
            with _without_gc():
                self._decided = self._pending()
            self._pending = None
        return self._decided


def max_doses() -> dict[str, Decimal]:
    """The largest plausible dose of every drug the simulator gives (BSA 2.6 m2, 150 kg, CrCl 125)."""
    big = PatientProfile(
        patient=None, cancer=None, diagnosis="", age=60, bsa=Decimal("2.6"), weight_kg=Decimal(150),  # type: ignore[arg-type]
        crcl=Decimal(125), payer=None, office=True, trial_number=None,  # type: ignore[arg-type]
    )  # fmt: skip
    doses: dict[str, Decimal] = defaultdict(Decimal)
    drugs = load_drugs()
    administrations = [a for r in load_regimens().values() for d in r.days for a in d.drugs]
    administrations += [a for b in load_premedications().values() for a in b.drugs]
    per_day: dict[tuple[str, str, int], Decimal] = defaultdict(Decimal)
    for regimen in load_regimens().values():
        for day in regimen.days:
            for admin in day.drugs:
                dose = max(
                    dose_of(admin.dose, big), dose_of(admin.dose_in_cycle(1), big)
                )  # loading doses too
                per_day[(regimen.id, admin.code, day.day)] += dose
                for alt in regimen.biosimilar_substitutes.get(admin.code, ()):
                    per_day[(regimen.id, alt, day.day)] += dose
    for (_, code, _), dose in per_day.items():
        doses[code] = max(doses[code], dose)
    for admin in administrations:
        doses[admin.code] = max(doses[admin.code], dose_of(admin.dose, big))
    doses["J2506"] = max(doses["J2506"], Decimal(6))
    for code in list(doses):
        for other, drug in drugs.items():
            if drug.biosimilar_of == code:
                doses[other] = max(doses[other], doses[code])
    return {code: dose for code, dose in doses.items() if code in drugs}


@contextlib.contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of objects are made.

    The simulator's objects form no reference cycles, so reference counting frees them all; but every
    full collection walks every live object, and a large run triggers many: ~20% of the run time at
    100,000 lines, more as the run grows.

    On resuming, the objects made meanwhile are all in the youngest generation, so the first collection
    after it would walk every one of them (~5% of ``simulate_practice``'s time) to find nothing; unless
    objects are frozen already (``gc.freeze`` by the caller, which unfreezing would undo), they are moved
    to the oldest generation instead: ``gc.freeze`` then ``gc.unfreeze``, which moves lists without
    walking them. A later full collection still walks them, as it walks every long-lived object.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def simulate_practice(config: SimulationConfig) -> SimulationResult:
    """Simulate ``config.claims`` claims of an oncology practice and their adjudication (decided on first
    use, see :class:`SimulationResult`).

    >>> result = simulate_practice(SimulationConfig(claims=50, seed=1))  # doctest: +SKIP
    """
    with _without_gc():
        return _simulate(config)


def _simulate(config: SimulationConfig) -> SimulationResult:
    rng = random.Random(config.seed)
    payers = load_payers()
    practice = build_practice(rng, config, cancers=load_cancers(), regimens=load_regimens(), payers=payers)
    encounters = inject_mistakes(rng, practice.encounters, config)
    encounters.sort(key=lambda e: (e.claim.submission_date, e.claim.claim_id))
    errors = [(i, line, kind) for i, e in enumerate(encounters) for line, kind in e.errors]
    auths = [a for c in practice.courses for a in c.authorizations]
    profiles = {p.patient.member_id: p for p in practice.profiles}

    def decide() -> tuple[list[Remittance], list[LineTruth]]:
        return adjudicate(rng, encounters, limits=unit_limits(max_doses()), payers=payers)

    return SimulationResult(config, [e.claim for e in encounters], auths, errors, profiles, _pending=decide)


def write_simulation(
    result: SimulationResult, out: str | Path, *, x12: bool = False, x12_workers: int = 2
) -> dict[str, Any]:
    """Write the simulation's tables (and X12 files) under ``out``; return a summary.

    First what depends on the claims alone (``lines.parquet``, the 837 files) while the adjudication is
    decided (if it is not yet), then the rest (``outcomes.parquet``, ``authorizations.parquet``,
    ``truth.parquet``, the 835 files). With ``x12`` and a large result (at least
    :data:`PARALLEL_X12_MIN_LINES` lines), ``x12_workers`` processes, this one and forked ones, share the
    files of each step (see :func:`_sharing`): the forked ones write while this one decides the
    adjudication, then the outcome and authorization tables. Every file has the same bytes as when one
    process writes them all.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workers = x12_workers if x12 else 1
    folder = out / "x12"
    with _without_gc():
        lines = sum(len(claim.lines) for claim in result.claims)
        first: list[_Job] = [
            _TableJob(out / "lines.parquet", lines, lambda path: _write_submitted(result, path))
        ]
        if x12:
            folder.mkdir(exist_ok=True)
            first += _claim_jobs(result, folder)
        with _sharing(first, workers=workers):
            result._decide()  # now, if not yet: while the forked workers write
        then: list[_Job] = [
            _TableJob(
                out / "truth.parquet",
                len(result.truth),
                lambda path: pq.write_table(_truth_table(result), path),
            )
        ]
        if x12:
            then += _remittance_jobs(result, folder)
        with _sharing(then, workers=workers):
            summary = _write_outcome_tables(result, out)
    summary["x12_files"] = [job.path.name for job in [*first[1:], *then[1:]]]
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


#: The line table's columns written to ``lines.parquet`` (as submitted) and to ``outcomes.parquet``.
SUBMITTED = [c for c in LINE_TABLE_COLUMNS if not c.startswith(("outcome_", "label_"))]
OUTCOME = [*OUTCOME_KEYS, *(c for c in LINE_TABLE_COLUMNS if c.startswith(("outcome_", "label_")))]
_LINE_SCHEMA = pa.schema([(name, dtype) for name, (dtype, _) in LINE_TABLE_COLUMNS.items()])
_SUBMITTED_SCHEMA = pa.schema([_LINE_SCHEMA.field(name) for name in SUBMITTED])
_OUTCOME_SCHEMA = pa.schema([_LINE_SCHEMA.field(name) for name in OUTCOME])
#: The claim-level columns of the line table (:func:`claims.ingest.claim_values`), which come first.
_CLAIM_COLUMNS = tuple(LINE_TABLE_COLUMNS)[: tuple(LINE_TABLE_COLUMNS).index("line_number")]
_CLAIM_SCHEMA = pa.schema([_LINE_SCHEMA.field(name) for name in _CLAIM_COLUMNS])

#: Lines per Arrow record batch (and Parquet row group) while the line tables are built and written: the
#: Python values of one batch at a time, never the whole table.
TABLE_BATCH_LINES = 65_536


def _chunks(claims: list[Claim]) -> Iterator[range]:
    """The claim indices of each record batch: whole claims, until a batch holds at least
    :data:`TABLE_BATCH_LINES` lines (one empty batch when there are no claims)."""
    start = lines = 0
    for index, claim in enumerate(claims):
        lines += len(claim.lines)
        if lines >= TABLE_BATCH_LINES:
            yield range(start, index + 1)
            start, lines = index + 1, 0
    if start < len(claims) or not claims:
        yield range(start, len(claims))


def _write_submitted(result: SimulationResult, path: Path) -> None:
    """``lines.parquet``: the claim and line columns of :func:`claims.ingest.line_table` for the simulated
    claims, a record batch (row group) at a time."""
    salt = result.config.id_salt
    claims = result.claims
    with pq.ParquetWriter(path, _SUBMITTED_SCHEMA) as writer:
        for chunk in _chunks(claims):
            writer.write_batch(_submitted_batch([claims[i] for i in chunk], salt))


def _submitted_batch(claims: list[Claim], salt: str) -> pa.RecordBatch:
    """The claim columns (computed once per claim, repeated on each line by Arrow) and the line columns
    (the values of :func:`claims.ingest.line_values`) of ``claims``."""
    per_claim: dict[str, list[Any]] = {name: [] for name in _CLAIM_COLUMNS}
    rows: list[int] = []  # per line, its claim's row in per_claim
    lines: list[ClaimLine] = []
    for row, claim in enumerate(claims):
        for key, value in claim_values(claim, "simulated", salt=salt).items():
            per_claim[key].append(value)
        rows.extend([row] * len(claim.lines))
        lines.extend(claim.lines)
    repeated = pa.table(per_claim, schema=_CLAIM_SCHEMA).take(pa.array(rows, pa.int64()))
    cols: dict[str, list[Any]] = {
        "line_number": [line.line_number for line in lines],
        "procedure_code": [line.procedure_code for line in lines],
        "modifiers": ["|".join(line.modifiers) for line in lines],
        "units": [float(line.units) for line in lines],
        "line_charge": [float(line.charge) for line in lines],
        "service_date": [line.service_date for line in lines],
        "diagnosis_pointers": ["|".join(map(str, line.diagnosis_pointers)) for line in lines],
        "revenue_code": [line.revenue_code for line in lines],
        "ndc": [line.ndc for line in lines],
        "ndc_quantity": [None if line.ndc_quantity is None else float(line.ndc_quantity) for line in lines],
        "ndc_unit": [line.ndc_unit._value_ if line.ndc_unit else None for line in lines],
        "line_prior_authorization": [line.prior_authorization for line in lines],
        "line_control_number": [line.control_number for line in lines],
    }
    arrays = [
        repeated.column(field.name).combine_chunks()
        if field.name in per_claim
        else pa.array(cols[field.name], field.type)
        for field in _SUBMITTED_SCHEMA
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=_SUBMITTED_SCHEMA)


def _write_outcome_tables(result: SimulationResult, out: Path) -> dict[str, Any]:
    """``outcomes.parquet`` (a record batch at a time) and ``authorizations.parquet``; returns the summary
    (without the X12 files)."""
    categories: Counter[str] = Counter()
    denied = labeled = lines = 0
    with pq.ParquetWriter(out / "outcomes.parquet", _OUTCOME_SCHEMA) as outcomes:
        for batch in _outcome_batches(result, categories):
            flags = batch.column("label_denied")
            labeled += len(flags) - flags.null_count
            denied += pc.sum(flags).as_py() or 0
            lines += batch.num_rows
            outcomes.write_batch(batch)
    pq.write_table(_auth_table(result, result.config.id_salt), out / "authorizations.parquet")
    return {
        "seed": result.config.seed,
        "period": [str(result.config.start), str(result.config.end)],
        "claims": len(result.claims),
        "lines": lines,
        "authorizations": len(result.authorizations),
        "remittances": len(result.remittances),
        "injected_errors": len(result.errors),
        "denial_rate": round(denied / labeled, 4) if labeled else None,
        "denial_categories": dict(sorted(categories.items())),
        "x12_files": [],
        "config": json.loads(result.config.model_dump_json()),
    }


#: A line's outcome as joined: (outcome, match method, claim status, received date).
_Found = tuple[LineOutcome, str, str, dt.date | None]


def _outcome_batches(result: SimulationResult, categories: Counter[str]) -> Iterator[pa.RecordBatch]:
    """The rows of ``outcomes.parquet``: the keys and the outcome and label columns of
    :func:`claims.ingest.line_table` for the simulated claims and remittances (the same join, labels and
    conversions; ``tests/claims/test_simulate.py`` compares the two), in the record batches of
    ``lines.parquet``. Denial categories are counted into ``categories``."""
    claims = result.claims
    report = JoinReport()
    answers: dict[int, tuple[ClaimPayment, dt.date | None]] = {
        index: (payment, received)
        for index, payment, received in adjudications(claims, result.remittances, report)
    }
    for chunk in _chunks(claims):
        lines: list[ClaimLine] = []
        claim_ids: list[str] = []
        submitted: list[dt.date | None] = []
        found: list[_Found | None] = []
        for index in chunk:
            claim = claims[index]
            n = len(claim.lines)
            lines.extend(claim.lines)
            claim_ids.extend([claim.claim_id] * n)
            submitted.extend([claim.submission_date] * n)
            answer = answers.get(index)
            if answer is None:
                found.extend([None] * n)
                continue
            payment, received = answer
            if payment.lines:
                matched = match_lines(claim, payment, report)
            else:
                whole = (claim_level_outcome(payment), "claim_level")
                matched = {line.line_number: whole for line in claim.lines}
            status = payment.status_code
            for line in claim.lines:
                match = matched.get(line.line_number)
                found.append(None if match is None else (match[0], match[1], status, received))
        cols = _outcome_values(found, categories)
        cols["claim_id"] = claim_ids
        cols["submission_date"] = submitted
        cols["line_number"] = [line.line_number for line in lines]
        arrays = [pa.array(cols[field.name], field.type) for field in _OUTCOME_SCHEMA]
        yield pa.RecordBatch.from_arrays(arrays, schema=_OUTCOME_SCHEMA)


def _outcome_values(found: list[_Found | None], categories: Counter[str]) -> dict[str, list[Any]]:
    """The outcome and label columns of the lines whose joined outcomes are ``found``: the values of
    :func:`claims.ingest.line_table`'s outcome part."""
    from claims.reference import load_carcs, load_rarcs

    carcs, rarcs = load_carcs(), load_rarcs()
    cols: dict[str, list[Any]] = {}
    outcomes = [f[0] if f is not None else None for f in found]
    labels = [
        None if o is None else label_line(o.adjustments, o.remark_codes, carcs=carcs, rarcs=rarcs)
        for o in outcomes
    ]
    cols["outcome_matched"] = [f is not None for f in found]
    cols["outcome_match_method"] = [f[1] if f is not None else None for f in found]
    cols["outcome_claim_status"] = [f[2] if f is not None else None for f in found]
    cols["outcome_received_date"] = [f[3] if f is not None else None for f in found]
    cols["outcome_paid"] = [None if o is None else float(o.paid) for o in outcomes]
    cols["outcome_allowed"] = [None if o is None or o.allowed is None else float(o.allowed) for o in outcomes]
    cols["outcome_units_paid"] = [
        None if o is None or o.units_paid is None else float(o.units_paid) for o in outcomes
    ]
    cols["outcome_adjustments"] = [
        None
        if o is None
        else "|".join(f"{a.group._value_}-{a.reason_code}:{a.amount}" for a in o.adjustments)
        for o in outcomes
    ]
    cols["outcome_remark_codes"] = [None if o is None else "|".join(o.remark_codes) for o in outcomes]
    cols["label_denied"] = [None if label is None else label.denied for label in labels]
    cols["label_category"] = [
        None if label is None or label.category is None else label.category._value_ for label in labels
    ]
    cols["label_reason_code"] = [None if label is None else label.reason_code for label in labels]
    cols["label_group"] = [
        None if label is None or label.group is None else label.group._value_ for label in labels
    ]
    cols["label_denied_amount"] = [None if label is None else label.denied_amount for label in labels]
    categories.update(c for c in cols["label_category"] if c is not None)
    return cols


def _truth_table(result: SimulationResult) -> pa.Table:
    errors: dict[tuple[int, int | None], list[str]] = defaultdict(list)
    for index, line, kind in result.errors:
        errors[(index, line)].append(kind)
    line_errors = {key: "|".join(kinds) for key, kinds in errors.items()}
    claims = result.claims
    truth = result.truth
    claim_ids: list[str] = []
    submitted: list[dt.date | None] = []
    claim_errors: list[str] = []
    for t in truth:
        claim = claims[t.claim_index]
        claim_ids.append(claim.claim_id)
        submitted.append(claim.submission_date)
        claim_errors.append(line_errors.get((t.claim_index, None), ""))
    return pa.table(
        {
            "claim_id": claim_ids,
            "submission_date": submitted,
            "line_number": [t.line_number for t in truth],
            "true_probability": [t.probability for t in truth],
            "true_category": [t.category.value if t.category else None for t in truth],
            "true_cause": [t.cause for t in truth],
            "rule_based": [t.rule_based for t in truth],
            "line_errors": [line_errors.get((t.claim_index, t.line_number), "") for t in truth],
            "claim_errors": claim_errors,
        }
    )


def _auth_table(result: SimulationResult, salt: str) -> pa.Table:
    rows: dict[str, list[Any]] = defaultdict(list)
    for auth in result.authorizations:
        rows["number"].append(auth.number)
        rows["payer_id"].append(auth.payer_id)
        rows["member_key"].append(hash_identifier(auth.member_id, salt))
        rows["approved_codes"].append("|".join(auth.approved_codes))
        rows["approved_units"].append(float(auth.approved_units) if auth.approved_units is not None else None)
        rows["start_date"].append(auth.start_date)
        rows["end_date"].append(auth.end_date)
        rows["status"].append(auth.status.value)
        rows["requested_date"].append(auth.requested_date)
        rows["decided_date"].append(auth.decided_date)
    return pa.table(rows) if rows else pa.table({"number": pa.array([], pa.string())})


#: Below this many claim lines every file is written in this process (forking costs more than it saves).
PARALLEL_X12_MIN_LINES = 20_000


@dataclass(frozen=True)
class _TableJob:
    """One Parquet table of the result (``lines.parquet``, ``truth.parquet``), written by ``write_to``."""

    path: Path
    size: int  # its rows: the jobs are taken largest first
    write_to: Callable[[Path], None]

    def write(self) -> None:
        self.write_to(self.path)


@dataclass(frozen=True)
class _X12Job:
    """One X12 file: 837 claims or 835 remittances, its creation time and ISA/GS control number."""

    items: list[Claim] | list[Remittance]
    created: dt.datetime
    number: int
    path: Path

    @property
    def size(self) -> int:
        return sum(_size(item) for item in self.items)

    def write(self) -> None:
        """The direct serializer (``validate=False``): the simulator's objects are valid domain objects."""
        if self.path.suffix == ".835":
            text = write_835(self.items, created=self.created, control_number=self.number, validate=False)  # type: ignore[arg-type]
        else:
            text = write_837(self.items, created=self.created, control_number=self.number, validate=False)  # type: ignore[arg-type]
        self.path.write_text(text)


_Job = _TableJob | _X12Job


def _claim_jobs(result: SimulationResult, folder: Path) -> list[_X12Job]:
    """The monthly 837P and 837I files (ISA/GS control numbers 1, 2, ... in month and form order)."""
    by_month: dict[tuple[str, ClaimForm], list[Claim]] = defaultdict(list)
    for claim in result.claims:
        assert claim.submission_date is not None
        by_month[(f"{claim.submission_date:%Y-%m}", claim.form)].append(claim)
    jobs: list[_X12Job] = []
    for number, ((month, form), claims) in enumerate(
        sorted(by_month.items(), key=lambda kv: (kv[0][0], kv[0][1].value)), 1
    ):
        suffix = "837p" if form is ClaimForm.PROFESSIONAL else "837i"
        created = dt.datetime.combine(
            max(c.submission_date or result.config.end for c in claims), dt.time(18, 0)
        )
        jobs.append(_X12Job(claims, created, number, folder / f"claims_{month}.{suffix}"))
    return jobs


def _remittance_jobs(result: SimulationResult, folder: Path) -> list[_X12Job]:
    """The monthly 835 files (control numbers 1, 2, ... in month order)."""
    remits_by_month: dict[str, list[Remittance]] = defaultdict(list)
    for remittance in result.remittances:
        assert remittance.production_date is not None
        remits_by_month[f"{remittance.production_date:%Y-%m}"].append(remittance)
    jobs: list[_X12Job] = []
    for number, (month, remits) in enumerate(sorted(remits_by_month.items()), 1):
        created = dt.datetime.combine(
            max(r.production_date or result.config.end for r in remits), dt.time(18, 0)
        )
        jobs.append(_X12Job(remits, created, number, folder / f"remits_{month}.835"))
    return jobs


def _write_x12(result: SimulationResult, folder: Path, *, workers: int = 2) -> list[str]:
    """Write the monthly 837 and 835 files (shared by ``workers`` processes for a large result, see
    :func:`_sharing`); returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = _claim_jobs(result, folder) + _remittance_jobs(result, folder)
    with _sharing(jobs, workers=workers):
        pass
    return [job.path.name for job in jobs]


@contextlib.contextmanager
def _sharing(jobs: Sequence[_Job], *, workers: int) -> Iterator[None]:
    """Write ``jobs`` (files that depend only on the result) while the body runs and after it.

    With ``workers`` of 2 or more, a large result and the ``fork`` start method, ``workers - 1`` forked
    processes take the jobs one at a time, the largest first, while this process runs the body; then this
    one takes the jobs left too, and waits for the workers. Otherwise this process writes them all after
    the body. Each file has the same bytes whichever process writes it.
    """
    lines = sum(job.size for job in jobs)
    fork = "fork" in multiprocessing.get_all_start_methods()
    if workers < 2 or len(jobs) < 2 or lines < PARALLEL_X12_MIN_LINES or not fork:
        yield
        for job in jobs:
            job.write()
        return
    order = sorted(jobs, key=lambda job: -job.size)
    context = multiprocessing.get_context("fork")
    taken = context.Value("q", 0)  # the next job to take: shared by all processes
    failures = context.SimpleQueue()
    processes = [
        context.Process(target=_take_jobs, args=(order, taken, failures), daemon=True)
        for _ in range(workers - 1)
    ]
    for process in processes:
        process.start()  # forked: the jobs and the result are inherited, not pickled
    try:
        yield
        _take_jobs(order, taken, None)
    except BaseException:
        for process in processes:
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join()
    if not failures.empty() or any(process.exitcode for process in processes):
        detail = failures.get() if not failures.empty() else "a worker process died"
        raise RuntimeError(f"writing the simulation's files failed in a worker process: {detail}")


def _take_jobs(jobs: Sequence[_Job], taken: Any, failures: Any) -> None:
    """Write the next job not taken yet (``taken``: a shared counter) until none is left; in a worker
    (``failures`` not None), a failure is put on ``failures`` and ends the process."""
    try:
        while True:
            with taken.get_lock():
                index = taken.value
                taken.value = index + 1
            if index >= len(jobs):
                return
            jobs[index].write()
    except Exception:
        if failures is None:
            raise
        failures.put(traceback.format_exc())
        os._exit(1)


def _size(item: Claim | Remittance) -> int:
    if isinstance(item, Claim):
        return len(item.lines)
    return sum(len(c.lines) or 1 for c in item.claims)
