"""Ingest claims (837P/837I or JSON) and remittances (835) into a labeled line table.

One row per claim line, claim fields repeated on each line, outcome columns prefixed ``outcome_`` and
label columns prefixed ``label_``; the columns are documented in :data:`LINE_TABLE_COLUMNS`. Patient
identity never enters the table: the member id is replaced by a salted hash, the birth date by the age
at service (capped at 90, as HIPAA's safe harbor asks), names are dropped.

Each bad file is reported with its reason while the good ones are processed; each bad claim in a file
is reported by segment position while the file's other claims are kept.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from claims.errors import X12Error
from claims.join import join_outcomes
from claims.label import label_line
from claims.model import Claim, ClaimLine, Remittance

__all__ = [
    "LINE_TABLE_COLUMNS",
    "SUBMITTED_COLUMNS",
    "IngestResult",
    "claim_values",
    "expand_paths",
    "hash_identifier",
    "ingest",
    "line_table",
    "line_values",
    "submitted_columns",
]

#: Column name -> (Arrow type, meaning). The Parquet file has exactly these columns, in this order.
LINE_TABLE_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "claim_id": (pa.string(), "CLM01 patient control number"),
    "source_file": (pa.string(), "file the claim was read from"),
    "form": (pa.string(), "professional (837P) or institutional (837I)"),
    "frequency_code": (pa.string(), "CLM05-3 claim frequency (1 original, 7 replacement, 8 void)"),
    "payer_id": (pa.string(), "payer identifier (2010BB NM109)"),
    "payer_name": (pa.string(), "payer name"),
    "plan_type": (pa.string(), "medicare, medicare_advantage, medicaid or commercial (SBR09)"),
    "patient_key": (pa.string(), "salted SHA-256 of the member id and relationship (never the id itself)"),
    "member_key": (pa.string(), "salted SHA-256 of the member id alone (matches authorizations.member_key)"),
    "patient_age": (pa.int16(), "age in whole years at the first service date, capped at 90"),
    "patient_sex": (pa.string(), "F, M or U"),
    "is_dependent": (pa.bool_(), "the patient is not the subscriber (2000C loop)"),
    "billing_npi": (pa.string(), "billing provider NPI (2010AA)"),
    "rendering_npi": (pa.string(), "rendering (837P 2310B) or attending (837I 2310A) NPI"),
    "place_of_service": (pa.string(), "CLM05-1 place of service (837P)"),
    "type_of_bill": (pa.string(), "type of bill, e.g. 0131 (837I)"),
    "diagnoses": (pa.string(), "ICD-10-CM codes in claim order, separated by |"),
    "principal_diagnosis": (pa.string(), "first-listed ICD-10-CM code"),
    "condition_codes": (pa.string(), "837I condition codes (HI*BG), separated by |"),
    "clinical_trial_number": (pa.string(), "REF*P4 NCT number (8 digits)"),
    "claim_prior_authorization": (pa.string(), "2300 REF*G1"),
    "submission_date": (pa.date32(), "BHT04 transaction creation date"),
    "claim_service_from": (pa.date32(), "first line service date"),
    "claim_service_to": (pa.date32(), "last line service date"),
    "claim_total_charge": (pa.float64(), "CLM02 total charge, dollars"),
    "claim_line_count": (pa.int32(), "number of lines on the claim"),
    "line_number": (pa.int32(), "LX01"),
    "procedure_code": (pa.string(), "HCPCS/CPT code"),
    "modifiers": (pa.string(), "modifiers in order, separated by |"),
    "units": (pa.float64(), "billed units (HCPCS units, not the dose)"),
    "line_charge": (pa.float64(), "line charge, dollars"),
    "service_date": (pa.date32(), "DTP*472 service date"),
    "diagnosis_pointers": (pa.string(), "SV107 pointers, separated by |"),
    "revenue_code": (pa.string(), "SV201 revenue code (837I)"),
    "ndc": (pa.string(), "LIN03 11-digit NDC"),
    "ndc_quantity": (pa.float64(), "CTP04 NDC quantity"),
    "ndc_unit": (pa.string(), "CTP05-1 unit of the NDC quantity"),
    "line_prior_authorization": (pa.string(), "2400 REF*G1"),
    "line_control_number": (pa.string(), "REF*6R line item control number"),
    "outcome_matched": (pa.bool_(), "an 835 outcome was joined to this line"),
    "outcome_match_method": (pa.string(), "control_number, fallback or claim_level"),
    "outcome_claim_status": (pa.string(), "CLP02 claim status code"),
    "outcome_received_date": (pa.date32(), "when the 835 arrived (DTM*405, else BPR16)"),
    "outcome_paid": (pa.float64(), "SVC03 paid amount, dollars"),
    "outcome_allowed": (pa.float64(), "AMT*B6 allowed amount, dollars"),
    "outcome_units_paid": (pa.float64(), "SVC05 units paid"),
    "outcome_adjustments": (pa.string(), "all CAS adjustments as GROUP-CARC:amount, separated by |"),
    "outcome_remark_codes": (pa.string(), "RARCs (LQ*HE), separated by |"),
    "label_denied": (pa.bool_(), "the line was denied at first adjudication (null: no outcome yet)"),
    "label_category": (pa.string(), "denial category (null when not denied)"),
    "label_reason_code": (pa.string(), "the CARC that decided the denial"),
    "label_group": (pa.string(), "the adjustment group of that CARC"),
    "label_denied_amount": (pa.float64(), "dollars adjusted by denial CARCs"),
}


def hash_identifier(value: str, salt: str) -> str:
    """Salted SHA-256 (hex, 16 characters) of an identifier, for joining without storing it."""
    return hashlib.sha256(f"{salt}\x1f{value}".encode()).hexdigest()[:16]


def claim_values(claim: Claim, source: str, *, salt: str | None) -> dict[str, Any]:
    """The claim-level columns of the line table for ``claim`` (identifiers hashed with ``salt``; with
    ``None``, for callers that never read them, ``patient_key`` and ``member_key`` are None)."""
    patient = claim.patient
    dates = [line.service_date for line in claim.lines]
    first_date, last_date = min(dates), max(dates)
    birth = patient.birth_date
    age = first_date.year - birth.year - ((first_date.month, first_date.day) < (birth.month, birth.day))
    diagnoses = claim.diagnosis_codes
    return {
        "claim_id": claim.claim_id,
        "source_file": source,
        "form": claim.form.value,
        "frequency_code": claim.frequency_code,
        "payer_id": claim.payer.payer_id,
        "payer_name": claim.payer.name,
        "plan_type": claim.payer.plan_type.value,
        "patient_key": None
        if salt is None
        else hash_identifier(f"{patient.member_id}|{patient.relationship}|{birth}", salt),
        "member_key": None if salt is None else hash_identifier(patient.member_id, salt),
        "patient_age": min(age, 90),
        "patient_sex": patient.sex.value,
        "is_dependent": claim.subscriber is not None,
        "billing_npi": claim.billing_provider.npi,
        "rendering_npi": claim.rendering_provider.npi if claim.rendering_provider else None,
        "place_of_service": claim.place_of_service,
        "type_of_bill": claim.type_of_bill,
        "diagnoses": "|".join(diagnoses),
        "principal_diagnosis": diagnoses[0],
        "condition_codes": "|".join(claim.condition_codes),
        "clinical_trial_number": claim.clinical_trial_number,
        "claim_prior_authorization": claim.prior_authorization,
        "submission_date": claim.submission_date,
        "claim_service_from": first_date,
        "claim_service_to": last_date,
        "claim_total_charge": float(claim.total_charge),
        "claim_line_count": len(claim.lines),
    }


def line_values(line: ClaimLine) -> dict[str, Any]:
    """The line-level columns of the line table for ``line`` (money and units as floats)."""
    return {
        "line_number": line.line_number,
        "procedure_code": line.procedure_code,
        "modifiers": "|".join(line.modifiers),
        "units": float(line.units),
        "line_charge": float(line.charge),
        "service_date": line.service_date,
        "diagnosis_pointers": "|".join(map(str, line.diagnosis_pointers)),
        "revenue_code": line.revenue_code,
        "ndc": line.ndc,
        "ndc_quantity": float(line.ndc_quantity) if line.ndc_quantity is not None else None,
        "ndc_unit": line.ndc_unit.value if line.ndc_unit else None,
        "line_prior_authorization": line.prior_authorization,
        "line_control_number": line.control_number,
    }


#: The columns known when the claim is submitted (the line table without ``outcome_*`` and ``label_*``).
SUBMITTED_COLUMNS: tuple[str, ...] = tuple(
    c for c in LINE_TABLE_COLUMNS if not c.startswith(("outcome_", "label_"))
)


def submitted_columns(
    claims: Sequence[Claim], *, salt: str | None, source: str = "", only: Collection[str] | None = None
) -> dict[str, list[Any]]:
    """The submitted columns (:data:`SUBMITTED_COLUMNS`) of ``claims``, one entry per line, as lists
    (``only``: just these of them, e.g. the ones a feature builder reads; ``salt`` None: no hashed ids)."""
    cols: dict[str, list[Any]] = {name: [] for name in SUBMITTED_COLUMNS if only is None or name in only}
    for claim in claims:
        n = len(claim.lines)
        for key, value in claim_values(claim, source, salt=salt).items():
            if key in cols:
                cols[key] += [value] * n
        rows = [line_values(line) for line in claim.lines]
        if rows:
            for key in rows[0]:
                if key in cols:
                    cols[key] += [row[key] for row in rows]
    return cols


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and every non-hidden file under each folder (sorted), without duplicates."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    seen: set[Path] = set()
    return [p for p in found if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]


@dataclass
class FileReport:
    """What one input file gave."""

    path: str
    kind: str
    transactions: int = 0
    claims: int = 0
    lines: int = 0
    remittances: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestResult:
    """Claims and remittances read, per-file reports, and the join."""

    claims: list[Claim] = field(default_factory=list)
    claim_sources: list[str] = field(default_factory=list)
    remittances: list[Remittance] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [e for f in self.files for e in f.errors]


def _read_json_claims(path: Path, data: bytes) -> tuple[list[Claim], list[str]]:
    try:
        payload = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        msg = getattr(e, "msg", "not UTF-8 JSON")
        where = f"line {e.lineno} column {e.colno}" if isinstance(e, json.JSONDecodeError) else "start"
        return [], [
            f'{path}: {where}: invalid JSON ({msg}); expected a list of claims or {{"claims": [...]}}'
        ]
    items = payload.get("claims") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return [], [f"{path}: expected a list of claims or an object with a 'claims' list"]
    claims: list[Claim] = []
    errors: list[str] = []
    for i, item in enumerate(items):
        try:
            claims.append(Claim.model_validate(item))
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            errors.append(f"{path}: claims[{i}].{loc}: {first['msg'].removeprefix('Value error, ')}")
    return claims, errors


def read_inputs(
    paths: Sequence[str | Path], *, on_file: Callable[[Path, int, int], None] | None = None
) -> IngestResult:
    """Read every claim and remittance file under ``paths``; report each bad file and go on."""
    result = IngestResult()
    files = expand_paths(paths)
    for number, path in enumerate(files, start=1):
        if on_file is not None:
            on_file(path, number, len(files))
        report = FileReport(path=str(path), kind="unknown")
        result.files.append(report)
        try:
            data = path.read_bytes()
        except OSError as e:
            report.errors.append(f"{path}: cannot read the file ({e.strerror})")
            continue
        if data.lstrip()[:1] in (b"{", b"["):
            report.kind = "json"
            claims, errors = _read_json_claims(path, data)
            report.errors.extend(errors)
            report.claims, report.lines = len(claims), sum(len(c.lines) for c in claims)
            result.claims.extend(claims)
            result.claim_sources.extend([str(path)] * len(claims))
            continue
        from claims.x12.reader import read_x12  # imported when needed: x12sdk takes ~0.3 s

        doc = read_x12(data, source=str(path))
        report.kind = "+".join(sorted(doc.kinds)) or "x12"
        report.transactions = doc.transactions
        report.claims, report.lines, report.remittances = (
            len(doc.claims),
            doc.line_count,
            len(doc.remittances),
        )
        report.errors.extend(e.one_line() if isinstance(e, X12Error) else str(e) for e in doc.errors)
        report.warnings.extend(w.one_line() for w in doc.warnings)
        result.claims.extend(doc.claims)
        result.claim_sources.extend([str(path)] * len(doc.claims))
        result.remittances.extend(doc.remittances)
    return result


def line_table(result: IngestResult, *, salt: str) -> tuple[pa.Table, dict[str, Any]]:
    """The labeled line table and the join/label statistics for ``result``."""
    join = join_outcomes(result.claims, result.remittances)
    cols: dict[str, list[Any]] = {name: [] for name in LINE_TABLE_COLUMNS}
    unknown_carcs: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for index, (claim, source) in enumerate(zip(result.claims, result.claim_sources, strict=True)):
        values = claim_values(claim, source, salt=salt)
        for line in claim.lines:
            for key, value in values.items():
                cols[key].append(value)
            for key, value in line_values(line).items():
                cols[key].append(value)
            match = join.matches.get((index, line.line_number))
            if match is None:
                for key in LINE_TABLE_COLUMNS:
                    if key.startswith(("outcome_", "label_")):
                        cols[key].append(False if key == "outcome_matched" else None)
                continue
            outcome = match.outcome
            label = label_line(outcome.adjustments, outcome.remark_codes)
            unknown_carcs.update(label.unknown_codes)
            if label.category is not None:
                categories[label.category.value] += 1
            cols["outcome_matched"].append(True)
            cols["outcome_match_method"].append(match.method)
            cols["outcome_claim_status"].append(match.payment.status_code)
            cols["outcome_received_date"].append(match.received_date)
            cols["outcome_paid"].append(float(outcome.paid))
            cols["outcome_allowed"].append(float(outcome.allowed) if outcome.allowed is not None else None)
            cols["outcome_units_paid"].append(
                float(outcome.units_paid) if outcome.units_paid is not None else None
            )
            cols["outcome_adjustments"].append(
                "|".join(f"{a.group.value}-{a.reason_code}:{a.amount}" for a in outcome.adjustments)
            )
            cols["outcome_remark_codes"].append("|".join(outcome.remark_codes))
            cols["label_denied"].append(label.denied)
            cols["label_category"].append(label.category.value if label.category else None)
            cols["label_reason_code"].append(label.reason_code)
            cols["label_group"].append(label.group.value if label.group else None)
            cols["label_denied_amount"].append(label.denied_amount)
    schema = pa.schema([(name, dtype) for name, (dtype, _) in LINE_TABLE_COLUMNS.items()])
    table = pa.table(cols, schema=schema)
    labeled = [d for d in cols["label_denied"] if d is not None]
    stats: dict[str, Any] = {
        **join.summary(),
        "labeled_lines": len(labeled),
        "denied_lines": sum(labeled),
        "denial_rate": round(sum(labeled) / len(labeled), 4) if labeled else None,
        "denial_categories": dict(sorted(categories.items())),
        "unknown_carcs": dict(sorted(unknown_carcs.items())),
    }
    return table, stats


def ingest(
    claim_paths: Sequence[str | Path],
    remit_paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    salt: str,
    on_file: Callable[[Path, int, int], None] | None = None,
) -> dict[str, Any]:
    """Read claims and remittances, join and label them, write ``lines.parquet`` and ``summary.json``.

    Returns the summary (also written as JSON): files with their errors, counts of claims, lines,
    matched and unmatched outcomes, the denial rate and unknown CARCs.
    """
    result = read_inputs([*claim_paths, *remit_paths], on_file=on_file)
    table, stats = line_table(result, salt=salt)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "lines.parquet")
    summary: dict[str, Any] = {
        "files": [
            {
                "path": f.path,
                "kind": f.kind,
                "transactions": f.transactions,
                "claims": f.claims,
                "lines": f.lines,
                "remittances": f.remittances,
                "errors": f.errors,
                "warnings": f.warnings,
            }
            for f in result.files
        ],
        "file_count": len(result.files),
        "files_with_errors": sum(bool(f.errors) for f in result.files),
        "claims": len(result.claims),
        "lines": table.num_rows,
        "remittances": len(result.remittances),
        "remittance_claims": sum(len(r.claims) for r in result.remittances),
        "remittance_lines": sum(len(c.lines) for r in result.remittances for c in r.claims),
        **stats,
        "errors": len(result.errors),
        "outputs": {"lines": str(out / "lines.parquet"), "summary": str(out / "summary.json")},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary
