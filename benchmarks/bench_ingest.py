"""Ingest speed of a large 837 + 835 pair, against x12sdk's own bare parse of the same files (the floor).

    python benchmarks/bench_ingest.py [--lines N] [--repeats R] [--workdir DIR] [--json OUT]

The input is built deterministically (seeded ``random.Random``) by varying the sample claims of
:mod:`claims.samples`: ~10 service lines per claim, mostly 837P with some 837I, and an 835 whose claim
payments answer every claim (some lines denied with CO-197, CO-16/M119 or CO-96/N362, the others paid
with CO-45 and PR-2). Building and writing the files is not measured, nor is one warm-up pass of each
reader over a small input made first.

Measured, each ``--repeats`` times (the median is reported):

* ``floor``: ``x12sdk.io.X12ModelReader`` over both files, models built and discarded;
* ``ours_read``: ``claims.ingest.read_inputs`` (envelopes, x12sdk parse, domain mapping and checks);
* ``ours_full``: ``read_inputs`` then ``line_table`` (join and label too); ``ours_table`` is its second part.

The machine is shared and noisy, so speed is reported as a ratio against the floor measured in the same
repeat (the order of floor and ours alternates between repeats), and the median of those ratios is the
figure to quote. Overhead is ``(ours - floor) / floor``; the target is an overhead under 50%.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from claims.enums import AdjustmentGroup, ClaimForm
from claims.ingest import line_table, read_inputs
from claims.model import Adjustment, Claim, ClaimLine, ClaimPayment, LineOutcome, Payer, Remittance
from claims.samples import COMMERCIAL, MEDICARE, MEDICARE_ADVANTAGE, make_claim
from claims.x12 import write_835, write_837

__all__ = ["build_inputs", "main", "run"]

DEFAULT_LINES = 100_000
DEFAULT_REPEATS = 3
DEFAULT_SEED = 20260205
TARGET_OVERHEAD_PCT = 50.0
SALT = "bench"

_CENT = Decimal("0.01")
_FIRST_SERVICE = dt.date(2025, 1, 6)
_SERVICE_DAYS = 540
_PROFESSIONAL = ("office_nsclc_carbo_pem_pembro", "office_folfox_bev_dependent")
_INSTITUTIONAL = "hospital_outpatient_trial"
_PAYERS: tuple[Payer, ...] = (MEDICARE, MEDICARE_ADVANTAGE, COMMERCIAL)
_FILING = {"medicare": "MB", "medicare_advantage": "16", "commercial": "12"}


# --- input ---------------------------------------------------------------------------------------------


def _templates() -> dict[str, Claim]:
    """The sample claims, once. The 837I one loses its line NDC: x12sdk 2.2.0 requires the loop 2410 REF
    that 005010X223A3 makes situational (our reader relaxes that, the bare floor parse cannot)."""
    found = {name: make_claim(name) for name in (*_PROFESSIONAL, _INSTITUTIONAL)}
    trial = found[_INSTITUTIONAL]
    found[_INSTITUTIONAL] = trial.model_copy(
        update={
            "lines": [
                line.model_copy(update={"ndc": None, "ndc_quantity": None, "ndc_unit": None})
                for line in trial.lines
            ]
        }
    )
    return found


def _vary_claim(
    rng: random.Random, number: int, templates: dict[str, Claim], scenario: str | None = None
) -> Claim:
    if scenario is None:
        scenario = _INSTITUTIONAL if rng.random() < 0.1 else rng.choice(_PROFESSIONAL)
    institutional = scenario == _INSTITUTIONAL
    base = templates[scenario]
    service = _FIRST_SERVICE + dt.timedelta(days=rng.randrange(_SERVICE_DAYS))
    submitted = service + dt.timedelta(days=rng.randint(1, 10))
    claim_id = f"BN{number:07d}"
    kept = list(base.lines)
    if not institutional:  # 8 to 11 lines: drop up to two, never the first (the administration)
        for _ in range(rng.randint(0, 2)):
            kept.pop(rng.randrange(1, len(kept)))
    factor = Decimal(rng.randint(90, 115)) / 100
    lines = [
        line.model_copy(
            update={
                "line_number": n,
                "service_date": service,
                "control_number": f"{claim_id}L{n:02d}",
                "charge": (line.charge * factor).quantize(_CENT),
            }
        )
        for n, line in enumerate(kept, start=1)
    ]
    member = f"M{number:09d}"
    born = base.patient.birth_date + dt.timedelta(days=rng.randint(-3650, 3650))
    patient = base.patient.model_copy(update={"member_id": member, "birth_date": born})
    subscriber = (
        base.subscriber.model_copy(update={"member_id": member}) if base.subscriber is not None else None
    )
    payer = rng.choice(_PAYERS[:2] if institutional else _PAYERS)
    return base.model_copy(
        update={
            "claim_id": claim_id,
            "payer": payer,
            "patient": patient,
            "subscriber": subscriber,
            "submission_date": submitted,
            "lines": lines,
        }
    )


def _adj(group: AdjustmentGroup, carc: str, amount: Decimal) -> Adjustment:
    return Adjustment(group=group, reason_code=carc, amount=amount)


def _outcome(rng: random.Random, line: ClaimLine) -> LineOutcome:
    """Most lines paid (CO-45 contractual, PR-2 coinsurance); a few denied with a drug/units reason."""
    draw = rng.random()
    denial: tuple[str, tuple[str, ...]] | None = None
    if line.ndc is not None and draw < 0.04:
        denial = ("197", ())  # precertification/authorization absent
    elif line.ndc is not None and draw < 0.08:
        denial = ("16", ("M119",))  # missing/invalid NDC
    elif line.ndc is None and draw < 0.03:
        denial = ("96", ("N362",))  # units over the MUE
    common: dict[str, Any] = {
        "procedure_code": line.procedure_code,
        "modifiers": line.modifiers,
        "revenue_code": line.revenue_code,
        "charge": line.charge,
        "units_paid": line.units,
        "service_date": line.service_date,
        "control_number": line.control_number,
    }
    if denial is not None:
        carc, remarks = denial
        return LineOutcome(
            **common,
            paid=Decimal("0.00"),
            allowed=Decimal("0.00"),
            adjustments=[_adj(AdjustmentGroup.CONTRACTUAL, carc, line.charge)],
            remark_codes=list(remarks),
        )
    allowed = (line.charge * Decimal("0.8")).quantize(_CENT)
    coinsurance = (allowed * Decimal("0.2")).quantize(_CENT)
    return LineOutcome(
        **common,
        paid=allowed - coinsurance,
        allowed=allowed,
        adjustments=[  # x12sdk refuses a CAS triplet with a zero amount (the 0.01 trial line)
            _adj(group, carc, amount)
            for group, carc, amount in (
                (AdjustmentGroup.CONTRACTUAL, "45", line.charge - allowed),
                (AdjustmentGroup.PATIENT, "2", coinsurance),
            )
            if amount
        ],
    )


def _payment(rng: random.Random, claim: Claim) -> ClaimPayment:
    lines = [_outcome(rng, line) for line in claim.lines]
    paid = sum((o.paid for o in lines), Decimal("0"))
    patient = sum(
        (a.amount for o in lines for a in o.adjustments if a.group is AdjustmentGroup.PATIENT), Decimal("0")
    )
    return ClaimPayment(
        claim_id=claim.claim_id,
        status_code="1" if paid > 0 else "4",
        charge=claim.total_charge,
        paid=paid,
        patient_responsibility=patient,
        filing_indicator=_FILING[claim.payer.plan_type.value],
        payer_claim_number=f"ICN{claim.claim_id}",
        lines=lines,
        patient_last_name=claim.patient.last_name,
        patient_first_name=claim.patient.first_name,
        member_id=claim.patient.member_id,
    )


def _remittances(rng: random.Random, claims: Sequence[Claim]) -> list[Remittance]:
    """One 835 per payer and production week; each claim is adjudicated 7 to 30 days after submission."""
    batches: dict[tuple[str, dt.date], list[ClaimPayment]] = defaultdict(list)
    payers = {c.payer.payer_id: c.payer for c in claims}
    for claim in claims:
        assert claim.submission_date is not None
        adjudicated = claim.submission_date + dt.timedelta(days=rng.randint(7, 30))
        friday = adjudicated + dt.timedelta(days=(4 - adjudicated.weekday()) % 7)
        batches[(claim.payer.payer_id, friday)].append(_payment(rng, claim))
    remittances = []
    for (payer_id, produced), payments in sorted(batches.items()):
        payer = payers[payer_id]
        remittances.append(
            Remittance(
                payer_id=payer.payer_id,
                payer_name=payer.name,
                payer_address=payer.address,
                payee_name="RIVERSIDE ONCOLOGY ASSOCIATES",
                payee_npi="1234567893",
                payment_date=produced + dt.timedelta(days=3),
                production_date=produced,
                trace_number=f"EFT{payer_id}{produced:%Y%m%d}",
                total_paid=sum((p.paid for p in payments), Decimal("0")),
                claims=payments,
            )
        )
    return remittances


def build_inputs(
    lines: int, folder: Path, *, seed: int = DEFAULT_SEED, warmup: bool = False
) -> dict[str, Any]:
    """Write ``claims.837`` and ``remits.835`` (at least ``lines`` service lines) into ``folder``.

    ``warmup`` ignores ``lines`` and writes one claim of each sample scenario (837P and 837I).
    """
    rng = random.Random(seed)
    templates = _templates()
    claims: list[Claim] = []
    if warmup:
        claims = [_vary_claim(rng, n, templates, name) for n, name in enumerate(templates, start=1)]
    total = sum(len(c.lines) for c in claims)
    while total < lines and not warmup:
        claim = _vary_claim(rng, len(claims) + 1, templates)
        claims.append(claim)
        total += len(claim.lines)
    remittances = _remittances(rng, claims)
    created = dt.datetime(2026, 9, 1, 12, 0)
    folder.mkdir(parents=True, exist_ok=True)
    claim_path, remit_path = folder / "claims.837", folder / "remits.835"
    claim_path.write_text(write_837(claims, created=created), encoding="utf-8")
    remit_path.write_text(write_835(remittances, created=created), encoding="utf-8")
    return {
        "paths": [claim_path, remit_path],
        "claims": len(claims),
        "institutional_claims": sum(c.form is ClaimForm.INSTITUTIONAL for c in claims),
        "lines": total,
        "remittances": len(remittances),
    }


# --- measurement ---------------------------------------------------------------------------------------


def floor_parse(paths: Sequence[Path]) -> int:
    """x12sdk's bare parse: every transaction model built and discarded. Returns the model count."""
    from x12sdk.io import X12ModelReader

    count = 0
    for path in paths:
        with X12ModelReader(str(path)) as reader:
            for _ in reader.models():
                count += 1
    return count


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _ours(paths: Sequence[Path]) -> tuple[float, float, dict[str, Any]]:
    """Time read_inputs, then line_table on its result; return both times and a sanity summary."""
    gc.collect()
    start = time.perf_counter()
    result = read_inputs(list(paths))
    read_done = time.perf_counter()
    table, stats = line_table(result, salt=SALT)
    end = time.perf_counter()
    check = {
        "errors": len(result.errors),
        "claims": len(result.claims),
        "rows": table.num_rows,
        "matched_lines": stats["matched_lines"],
        "denied_lines": stats["denied_lines"],
        "unknown_carcs": stats["unknown_carcs"],
    }
    return read_done - start, end - read_done, check


def _rates(times: list[float], megabytes: float, lines: int) -> dict[str, Any]:
    median = statistics.median(times)
    return {
        "runs_s": [round(t, 3) for t in times],
        "median_s": round(median, 3),
        "mb_per_s": round(megabytes / median, 3),
        "lines_per_s": round(lines / median),
    }


def run(
    lines: int, repeats: int, workdir: Path, *, seed: int = DEFAULT_SEED, quiet: bool = False
) -> dict[str, Any]:
    """Build the input in ``workdir`` and measure; returns the result dict (see :func:`main`)."""
    say: Callable[[str], None] = (lambda _: None) if quiet else (lambda m: print(m, file=sys.stderr))
    say(f"building {lines:,} service lines in {workdir} ...")
    start = time.perf_counter()
    built = build_inputs(lines, workdir, seed=seed)
    paths: list[Path] = built["paths"]
    say(f"  {built['claims']:,} claims, {built['lines']:,} lines in {time.perf_counter() - start:.1f} s")
    sizes = {p.name: p.stat().st_size / 1e6 for p in paths}
    megabytes = sum(sizes.values())
    n_lines = built["lines"]

    # One untimed pass of each over a small input first: lazy imports, parser tables and the CARC/RARC
    # tables are loaded once per process and would otherwise land in whichever reader runs first.
    warm = build_inputs(0, workdir / "warmup", seed=seed + 1, warmup=True)["paths"]
    floor_parse(warm)
    _ours(warm)

    floor: list[float] = []
    read: list[float] = []
    table: list[float] = []
    check: dict[str, Any] = {}
    for repeat in range(repeats):
        order = ("floor", "ours") if repeat % 2 == 0 else ("ours", "floor")
        for which in order:
            if which == "floor":
                seconds, _ = _timed(lambda: floor_parse(paths))
                floor.append(seconds)
                say(f"  repeat {repeat + 1}/{repeats}: floor {seconds:.2f} s")
            else:
                r, t, check = _ours(paths)
                read.append(r)
                table.append(t)
                say(f"  repeat {repeat + 1}/{repeats}: ours read {r:.2f} s + table {t:.2f} s")
    if check["errors"] or check["rows"] != n_lines or check["matched_lines"] != n_lines:
        raise RuntimeError(f"the ingest did not read the generated input cleanly: {check}")

    full = [r + t for r, t in zip(read, table, strict=True)]
    ratio_full = statistics.median(f / b for f, b in zip(full, floor, strict=True))
    ratio_read = statistics.median(r / b for r, b in zip(read, floor, strict=True))
    return {
        "benchmark": "ingest_837_835",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "environment": {
            "python": platform.python_version(),
            "x12sdk": version("x12sdk"),
            "pydantic": version("pydantic"),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
        "input": {
            "seed": seed,
            "claims": built["claims"],
            "institutional_claims": built["institutional_claims"],
            "lines": n_lines,
            "remittances": built["remittances"],
            "files_mb": {name: round(mb, 2) for name, mb in sizes.items()},
            "total_mb": round(megabytes, 2),
        },
        "repeats": repeats,
        "timings": {
            "floor": _rates(floor, megabytes, n_lines),
            "ours_read": _rates(read, megabytes, n_lines),
            "ours_full": _rates(full, megabytes, n_lines),
            "ours_table": _rates(table, megabytes, n_lines),
        },
        # Median over repeats of each repeat's ratio to the floor measured next to it.
        "ratio_read_to_floor": round(ratio_read, 3),
        "ratio_full_to_floor": round(ratio_full, 3),
        "overhead_read_pct": round((ratio_read - 1) * 100, 1),
        "overhead_full_pct": round((ratio_full - 1) * 100, 1),
        "target_overhead_pct": TARGET_OVERHEAD_PCT,
        "target_met": (ratio_full - 1) * 100 < TARGET_OVERHEAD_PCT,
        "check": check,
    }


# --- report --------------------------------------------------------------------------------------------


def _print_report(result: dict[str, Any]) -> None:
    data = result["input"]
    rows = [
        ("floor: x12sdk X12ModelReader", result["timings"]["floor"], 1.0),
        ("ours: read_inputs", result["timings"]["ours_read"], result["ratio_read_to_floor"]),
        ("ours: read_inputs + line_table", result["timings"]["ours_full"], result["ratio_full_to_floor"]),
        ("  (line_table alone)", result["timings"]["ours_table"], None),
    ]
    title = (
        f"ingest: {data['claims']:,} claims, {data['lines']:,} lines, "
        + ", ".join(f"{name} {mb:.1f} MB" for name, mb in data["files_mb"].items())
        + f"; median of {result['repeats']}"
    )
    verdict = (
        f"overhead on top of the bare parse: read {result['overhead_read_pct']:+.1f}%, "
        f"full {result['overhead_full_pct']:+.1f}% (target < {result['target_overhead_pct']:.0f}%: "
        + ("met" if result["target_met"] else "NOT met")
        + ")"
    )
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text
        print(title)
        print(f"{'':34} {'median s':>9} {'MB/s':>8} {'lines/s':>9} {'x floor':>8}")
        for name, t, ratio in rows:
            shown = f"{ratio:.2f}" if ratio is not None else ""
            print(f"{name:34} {t['median_s']:9.2f} {t['mb_per_s']:8.2f} {t['lines_per_s']:9,} {shown:>8}")
        print(verdict)
        return
    table = Table(title=title)
    for column in ("", "median s", "MB/s", "lines/s", "x floor (time)"):
        table.add_column(column, justify="left" if not column else "right")
    for name, t, ratio in rows:
        table.add_row(
            name,
            f"{t['median_s']:.2f}",
            f"{t['mb_per_s']:.2f}",
            f"{t['lines_per_s']:,}",
            f"{ratio:.2f}" if ratio is not None else "",
        )
    console = Console()
    console.print(table)
    console.print(verdict)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark from command-line arguments; print the table and return the result dict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=DEFAULT_LINES, help="service lines to generate")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="timed runs of each reader")
    parser.add_argument("--workdir", type=Path, help="where to write the input (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the result as JSON here")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quiet", action="store_true", help="no progress messages and no table")
    args = parser.parse_args(argv)
    if args.lines < 1 or args.repeats < 1:
        parser.error("--lines and --repeats must be at least 1")
    if args.workdir is not None:
        result = run(args.lines, args.repeats, args.workdir, seed=args.seed, quiet=args.quiet)
    else:
        with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
            result = run(args.lines, args.repeats, Path(tmp), seed=args.seed, quiet=args.quiet)
    arguments = sys.argv[1:] if argv is None else argv
    result["command"] = shlex.join(["python", "benchmarks/bench_ingest.py", *arguments])
    if not args.quiet:
        _print_report(result)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
