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
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
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
from claims.policy import PayerPolicy, load_payers
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
    """Submitted claims, authorizations, remittances and the truth of one simulation."""

    config: SimulationConfig
    claims: list[Claim]
    authorizations: list[Authorization]
    remittances: list[Remittance]
    truth: list[LineTruth]
    errors: list[tuple[int, int | None, str]]  # (claim index, line or None, error type)
    profiles: dict[str, PatientProfile]


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
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def simulate_practice(config: SimulationConfig) -> SimulationResult:
    """Simulate ``config.claims`` claims of an oncology practice and their adjudication.

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
    remittances, truth = adjudicate(rng, encounters, limits=unit_limits(max_doses()), payers=payers)
    errors = [(i, line, kind) for i, e in enumerate(encounters) for line, kind in e.errors]
    auths = [a for c in practice.courses for a in c.authorizations]
    profiles = {p.patient.member_id: p for p in practice.profiles}
    return SimulationResult(
        config, [e.claim for e in encounters], auths, remittances, truth, errors, profiles
    )


def _payer_key(payers: Mapping[str, PayerPolicy], payer_id: str) -> str:
    return next((k for k, p in payers.items() if p.payer_id == payer_id), payer_id)


def write_simulation(
    result: SimulationResult, out: str | Path, *, x12: bool = False, x12_workers: int = 2
) -> dict[str, Any]:
    """Write the simulation's tables (and X12 files) under ``out``; return a summary.

    ``x12_workers`` processes write the X12 files of a large result (the same bytes as one process),
    while this one writes the tables.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _without_gc():
        finish_x12 = _start_x12(result, out / "x12", workers=x12_workers) if x12 else None
        try:
            summary = _write_tables(result, out)
        finally:
            files = finish_x12() if finish_x12 is not None else []
    summary["x12_files"] = files
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


#: The line table's columns written to ``lines.parquet`` (as submitted) and to ``outcomes.parquet``.
SUBMITTED = [c for c in LINE_TABLE_COLUMNS if not c.startswith(("outcome_", "label_"))]
OUTCOME = [*OUTCOME_KEYS, *(c for c in LINE_TABLE_COLUMNS if c.startswith(("outcome_", "label_")))]
_LINE_SCHEMA = pa.schema([(name, dtype) for name, (dtype, _) in LINE_TABLE_COLUMNS.items()])
_SUBMITTED_SCHEMA = pa.schema([_LINE_SCHEMA.field(name) for name in SUBMITTED])
_OUTCOME_SCHEMA = pa.schema([_LINE_SCHEMA.field(name) for name in OUTCOME])

#: Lines per Arrow record batch (and Parquet row group) while the line tables are built and written: the
#: Python values of one batch at a time, never the whole table.
TABLE_BATCH_LINES = 65_536


def _write_tables(result: SimulationResult, out: Path) -> dict[str, Any]:
    salt = result.config.id_salt
    categories: Counter[str] = Counter()
    denied = labeled = lines = 0
    # The line and outcome tables are written a row group (a record batch) at a time, as they are built.
    with (
        pq.ParquetWriter(out / "lines.parquet", _SUBMITTED_SCHEMA) as submitted,
        pq.ParquetWriter(out / "outcomes.parquet", _OUTCOME_SCHEMA) as outcomes,
    ):
        for batch in _line_batches(result, salt, categories):
            flags = batch.column("label_denied")
            labeled += len(flags) - flags.null_count
            denied += pc.sum(flags).as_py() or 0
            lines += batch.num_rows
            submitted.write_batch(batch.select(SUBMITTED))
            outcomes.write_batch(batch.select(OUTCOME))
    pq.write_table(_truth_table(result), out / "truth.parquet")
    pq.write_table(_auth_table(result, salt), out / "authorizations.parquet")
    summary = {
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
    return summary


def _line_batches(result: SimulationResult, salt: str, categories: Counter[str]) -> Iterator[pa.RecordBatch]:
    """The rows of :func:`claims.ingest.line_table` for the simulated claims and remittances, as record
    batches of about :data:`TABLE_BATCH_LINES` lines (the same values: the same join, the same labels, the
    same conversions; ``tests/claims/test_simulate.py`` compares the two). Denial categories are counted
    into ``categories``."""
    claims = result.claims
    report = JoinReport()
    answers: dict[int, tuple[ClaimPayment, dt.date | None]] = {
        index: (payment, received)
        for index, payment, received in adjudications(claims, result.remittances, report)
    }
    per_claim: dict[str, list[Any]] = {name: [] for name in _CLAIM_COLUMNS}
    rows: list[int] = []  # per line, its claim's row in per_claim
    lines: list[ClaimLine] = []
    found: list[_Found | None] = []
    for index, claim in enumerate(claims):
        n = len(claim.lines)
        rows.extend([len(per_claim["claim_id"])] * n)
        for key, value in claim_values(claim, "simulated", salt=salt).items():
            per_claim[key].append(value)
        lines.extend(claim.lines)
        answer = answers.get(index)
        if answer is None:
            found.extend([None] * n)
        else:
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
        if len(lines) >= TABLE_BATCH_LINES:
            yield _batch(per_claim, rows, lines, found, categories)
            per_claim = {name: [] for name in _CLAIM_COLUMNS}
            rows, lines, found = [], [], []
    if lines or not claims:
        yield _batch(per_claim, rows, lines, found, categories)


def _batch(
    per_claim: dict[str, list[Any]],
    rows: list[int],
    lines: list[ClaimLine],
    found: list[_Found | None],
    categories: Counter[str],
) -> pa.RecordBatch:
    """One record batch of the line table: the claim columns repeated on each line, then the line, outcome
    and label columns."""
    claim_table = pa.table(per_claim, schema=pa.schema([_LINE_SCHEMA.field(n) for n in _CLAIM_COLUMNS]))
    repeated = claim_table.take(pa.array(rows, pa.int64()))
    cols = _line_values(lines, found, categories)
    arrays = [
        repeated.column(field.name).combine_chunks()
        if field.name in per_claim
        else pa.array(cols[field.name], field.type)
        for field in _LINE_SCHEMA
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=_LINE_SCHEMA)


#: A line's outcome as joined: (outcome, match method, claim status, received date).
_Found = tuple[LineOutcome, str, str, dt.date | None]


def _line_values(
    lines: list[ClaimLine], found: list[_Found | None], categories: Counter[str]
) -> dict[str, list[Any]]:
    """The line, outcome and label columns of ``lines``: the values of :func:`claims.ingest.line_values`
    and of :func:`claims.ingest.line_table`'s outcome part."""
    from claims.reference import load_carcs, load_rarcs

    carcs, rarcs = load_carcs(), load_rarcs()
    cols: dict[str, list[Any]] = {}
    cols["line_number"] = [line.line_number for line in lines]
    cols["procedure_code"] = [line.procedure_code for line in lines]
    cols["modifiers"] = ["|".join(line.modifiers) for line in lines]
    cols["units"] = [float(line.units) for line in lines]
    cols["line_charge"] = [float(line.charge) for line in lines]
    cols["service_date"] = [line.service_date for line in lines]
    cols["diagnosis_pointers"] = ["|".join(map(str, line.diagnosis_pointers)) for line in lines]
    cols["revenue_code"] = [line.revenue_code for line in lines]
    cols["ndc"] = [line.ndc for line in lines]
    cols["ndc_quantity"] = [None if line.ndc_quantity is None else float(line.ndc_quantity) for line in lines]
    cols["ndc_unit"] = [line.ndc_unit._value_ if line.ndc_unit else None for line in lines]
    cols["line_prior_authorization"] = [line.prior_authorization for line in lines]
    cols["line_control_number"] = [line.control_number for line in lines]
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


#: The outcome and label columns of the line table.
_OUTCOME_COLUMNS = tuple(c for c in LINE_TABLE_COLUMNS if c.startswith(("outcome_", "label_")))


#: The claim-level columns of the line table (:func:`claims.ingest.claim_values`), which come first.
_CLAIM_COLUMNS = tuple(LINE_TABLE_COLUMNS)[: tuple(LINE_TABLE_COLUMNS).index("line_number")]


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


#: Below this many claim lines the X12 files are written in this process (a pool costs more than it saves).
PARALLEL_X12_MIN_LINES = 20_000

#: One X12 file to write: (837 claims or 835 remittances, created, ISA/GS control number, file path).
_X12Job = tuple[list[Claim] | list[Remittance], dt.datetime, int, Path]

#: The jobs of the running ``_write_x12``, for the forked workers (inherited, not pickled).
_JOBS: list[_X12Job] = []


def _x12_jobs(result: SimulationResult, folder: Path) -> list[_X12Job]:
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
        jobs.append((claims, created, number, folder / f"claims_{month}.{suffix}"))
    remits_by_month: dict[str, list[Remittance]] = defaultdict(list)
    for remittance in result.remittances:
        assert remittance.production_date is not None
        remits_by_month[f"{remittance.production_date:%Y-%m}"].append(remittance)
    for number, (month, remits) in enumerate(sorted(remits_by_month.items()), 1):
        created = dt.datetime.combine(
            max(r.production_date or result.config.end for r in remits), dt.time(18, 0)
        )
        jobs.append((remits, created, number, folder / f"remits_{month}.835"))
    return jobs


def _write_job(job: _X12Job) -> str:
    """Write one X12 file. The simulator's objects are validated domain objects, so the x12sdk models
    are built without validation (``validate=False``: the same bytes, see ``wire.build_model``)."""
    items, created, number, path = job
    if path.suffix == ".835":
        text = write_835(items, created=created, control_number=number, validate=False)  # type: ignore[arg-type]
    else:
        text = write_837(items, created=created, control_number=number, validate=False)  # type: ignore[arg-type]
    path.write_text(text)
    return path.name


def _write_job_at(index: int) -> str:
    return _write_job(_JOBS[index])


def _write_x12(result: SimulationResult, folder: Path, *, workers: int = 2) -> list[str]:
    """Write the monthly 837 and 835 files; with ``workers`` > 1 and a large result, in forked processes.

    Every file's bytes depend only on its own month's objects, so the output is the same either way.
    """
    return _start_x12(result, folder, workers=workers)()


def _start_x12(result: SimulationResult, folder: Path, *, workers: int = 2) -> Callable[[], list[str]]:
    """Start writing the X12 files (in forked processes when worth it); the returned call waits for them
    and returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = _x12_jobs(result, folder)
    lines = sum(len(c.lines) for c in result.claims)
    fork = "fork" in multiprocessing.get_all_start_methods()
    if workers < 2 or len(jobs) < 2 or lines < PARALLEL_X12_MIN_LINES or not fork:
        return lambda: [_write_job(job) for job in jobs]
    global _JOBS
    _JOBS = jobs
    try:
        # Largest files first, so that neither worker is left with a big one at the end.
        order = sorted(range(len(jobs)), key=lambda i: -sum(_size(item) for item in jobs[i][0]))
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context)
        futures = [pool.submit(_write_job_at, i) for i in order]  # the workers fork here, with _JOBS set
    finally:
        _JOBS = []

    def finish() -> list[str]:
        try:
            names = {i: future.result() for i, future in zip(order, futures, strict=True)}
        finally:
            pool.shutdown(cancel_futures=True)
        return [names[i] for i in range(len(jobs))]

    return finish


def _size(item: Claim | Remittance) -> int:
    if isinstance(item, Claim):
        return len(item.lines)
    return sum(len(c.lines) or 1 for c in item.claims)
