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
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from claims.enums import ClaimForm
from claims.ingest import LINE_TABLE_COLUMNS, IngestResult, hash_identifier, line_table
from claims.model import Authorization, Claim, Remittance
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


def _write_tables(result: SimulationResult, out: Path) -> dict[str, Any]:
    salt = result.config.id_salt
    table, stats = line_table(
        IngestResult(claims=result.claims, claim_sources=["simulated"] * len(result.claims),
                     remittances=result.remittances),
        salt=salt,
    )  # fmt: skip
    submitted = [c for c in LINE_TABLE_COLUMNS if not c.startswith(("outcome_", "label_"))]
    outcome = [*OUTCOME_KEYS, *(c for c in LINE_TABLE_COLUMNS if c.startswith(("outcome_", "label_")))]
    pq.write_table(table.select(submitted), out / "lines.parquet")
    pq.write_table(table.select(outcome), out / "outcomes.parquet")
    pq.write_table(_truth_table(result), out / "truth.parquet")
    pq.write_table(_auth_table(result, salt), out / "authorizations.parquet")
    denied = [d for d in table.column("label_denied").to_pylist() if d is not None]
    summary = {
        "seed": result.config.seed,
        "period": [str(result.config.start), str(result.config.end)],
        "claims": len(result.claims),
        "lines": table.num_rows,
        "authorizations": len(result.authorizations),
        "remittances": len(result.remittances),
        "injected_errors": len(result.errors),
        "denial_rate": round(sum(denied) / len(denied), 4) if denied else None,
        "denial_categories": stats["denial_categories"],
        "x12_files": [],
        "config": json.loads(result.config.model_dump_json()),
    }
    return summary


def _truth_table(result: SimulationResult) -> pa.Table:
    errors: dict[tuple[int, int | None], list[str]] = defaultdict(list)
    for index, line, kind in result.errors:
        errors[(index, line)].append(kind)
    rows: dict[str, list[Any]] = defaultdict(list)
    for truth in result.truth:
        claim = result.claims[truth.claim_index]
        rows["claim_id"].append(claim.claim_id)
        rows["submission_date"].append(claim.submission_date)
        rows["line_number"].append(truth.line_number)
        rows["true_probability"].append(truth.probability)
        rows["true_category"].append(truth.category.value if truth.category else None)
        rows["true_cause"].append(truth.cause)
        rows["rule_based"].append(truth.rule_based)
        rows["line_errors"].append("|".join(errors.get((truth.claim_index, truth.line_number), [])))
        rows["claim_errors"].append("|".join(errors.get((truth.claim_index, None), [])))
    return pa.table(rows)


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
