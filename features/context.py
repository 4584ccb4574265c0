"""What is known about a claim at submission besides its own fields: audit findings and authorization status.

Both come from the coding audit (:func:`claims.audit.audit_claim`) run on each claim as it was when
submitted, **point in time**:

- only the authorizations on file at submission count (``requested_date`` on or before the claim's
  submission date; an authorization requested later did not exist for the biller);
- only the claims submitted earlier (same member) count for duplicates and used-up authorization units.

The result, per line, is two columns the feature builder reads: ``audit_rules`` (the ids of the rules that
flagged the line or the whole claim, ``|``-separated, sorted) and ``auth_status`` (one of
:data:`AUTH_STATUSES`). Training computes them from the line table (``claims_from_frame`` rebuilds the
claims), scoring from the claims it receives; the audit code is the same.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from claims.audit import REGISTRY, Finding, Severity, audit_claim
from claims.enums import AuthorizationStatus, ClaimForm, NdcUnit, PlanType, Sex
from claims.model import Authorization, Claim, ClaimLine, Diagnosis, Patient, Payer, Provider
from claims.policy import PayerPolicy, load_payers
from claims.reference import load_drugs
from claims.trusted import builder, trusted

__all__ = [
    "AUTH_PROBLEMS",
    "AUTH_STATUSES",
    "CONTEXT_COLUMNS",
    "annotate_claims",
    "annotate_frame",
    "authorizations_from_frame",
    "claims_from_frame",
    "payers_by_id",
    "rule_ids",
]

#: Authorization status of a line at submission, from the authorizations on file.
AUTH_STATUSES: tuple[str, ...] = (
    "not_required",  # the payer requires no authorization for this line
    "valid",  # required, and an approved authorization on file covers code, date and units
    "missing",  # required, none on file
    "pending",  # on file but still pending (or denied) on the service date
    "expired",  # on file for the code, but the service date is outside its window
    "wrong_code",  # on file for another code (e.g. the reference product, not the biosimilar)
    "units_exhausted",  # the approved units are used up
    "number_missing",  # covered, but the authorization number is not on the claim
    "number_wrong",  # covered, but the number on the claim matches no valid authorization
    "unknown",  # the payer's policy is unknown to us
)

#: The statuses that are a problem (their indicator features may only raise the risk).
AUTH_PROBLEMS = frozenset(
    {"missing", "pending", "expired", "wrong_code", "units_exhausted", "number_missing", "number_wrong"}
)

#: Audit rule -> the authorization status it reveals, most severe first.
_AUTH_RULES: tuple[tuple[str, str], ...] = (
    ("AUTH-MISSING", "missing"),
    ("AUTH-NOT-APPROVED", "pending"),
    ("AUTH-EXPIRED", "expired"),
    ("AUTH-OTHER-CODE", "wrong_code"),
    ("AUTH-UNITS-EXHAUSTED", "units_exhausted"),
    ("AUTH-NUMBER-WRONG", "number_wrong"),
    ("AUTH-NUMBER-MISSING", "number_missing"),
)

#: The columns :func:`annotate_claims` adds to the line table.
CONTEXT_COLUMNS: tuple[str, ...] = ("audit_rules", "auth_status", "audit_errors")


def rule_ids() -> tuple[str, ...]:
    """Every registered audit rule id, sorted (the audit indicator features follow this order)."""
    from claims.audit import rules as _rules  # noqa: F401  (registers the rules)

    return tuple(sorted(REGISTRY))


def payers_by_id(payers: Mapping[str, PayerPolicy] | None = None) -> dict[str, PayerPolicy]:
    """Payer policies keyed by payer id (the id on the claim), from ``payers`` or the default market."""
    return {p.payer_id: p for p in (payers if payers is not None else load_payers()).values()}


def _visible(auth: Authorization, submitted: dt.date) -> bool:
    return auth.requested_date is None or auth.requested_date <= submitted


def annotate_claims(
    claims: Sequence[Claim],
    *,
    payers: Mapping[str, PayerPolicy] | None = None,
    authorizations: Iterable[Authorization] | None = (),
    submitted: Sequence[Claim] = (),
    today: dt.date | None = None,
) -> tuple[dict[str, list[str]], list[list[Finding]]]:
    """Audit each claim point in time; per line (claims' lines in order) the context columns, and the
    findings of each claim.

    ``payers`` is keyed by payer id (:func:`payers_by_id`; the default market when ``None``). Claims are
    audited in the order given, each seeing ``submitted`` and the claims before it (same member) as already
    submitted, and the authorizations requested on or before its submission date.

    >>> from claims.samples import make_claim
    >>> columns, findings = annotate_claims([make_claim()])
    >>> sorted(columns)
    ['audit_errors', 'audit_rules', 'auth_status']
    """
    by_id = payers if payers is not None else payers_by_id()
    auths: dict[tuple[str, str], list[Authorization]] = defaultdict(list)
    rule_ids()  # the registry is filled on first use
    rules = None
    if authorizations is None:
        rules = [r for rule_id, r in REGISTRY.items() if not rule_id.startswith("AUTH-")]
    for auth in authorizations or ():
        auths[(auth.payer_id, auth.member_id)].append(auth)
    earlier: dict[str, list[Claim]] = defaultdict(list)
    for claim in submitted:
        earlier[claim.patient.member_id].append(claim)
    drugs = load_drugs()
    columns: dict[str, list[str]] = {name: [] for name in CONTEXT_COLUMNS}
    all_findings: list[list[Finding]] = []
    for claim in claims:
        member = claim.patient.member_id
        when = claim.submission_date or today or dt.date.today()
        on_file = [a for a in auths.get((claim.payer.payer_id, member), ()) if _visible(a, when)]
        payer = by_id.get(claim.payer.payer_id)
        findings = audit_claim(
            claim, payer=payer, authorizations=on_file, submitted=earlier[member], today=today, rules=rules
        )
        earlier[member].append(claim)
        all_findings.append(findings)
        per_line: dict[int, set[str]] = defaultdict(set)
        errors: dict[int, int] = defaultdict(int)
        claim_wide: set[str] = set()
        claim_errors = 0
        for finding in findings:
            if finding.lines:
                for number in finding.lines:
                    per_line[number].add(finding.rule_id)
                    errors[number] += finding.severity is Severity.ERROR
            else:
                claim_wide.add(finding.rule_id)
                claim_errors += finding.severity is Severity.ERROR
        for line in claim.lines:
            flagged = per_line.get(line.line_number, set()) | claim_wide
            columns["audit_rules"].append("|".join(sorted(flagged)))
            columns["audit_errors"].append(str(errors.get(line.line_number, 0) + claim_errors))
            columns["auth_status"].append(
                _auth_status(line, flagged, payer, drugs, authorizations is not None)
            )
    return columns, all_findings


def _auth_status(
    line: ClaimLine, rules: set[str], payer: PayerPolicy | None, drugs: Mapping[str, Any], known: bool
) -> str:
    for rule_id, status in _AUTH_RULES:
        if rule_id in rules:
            return status
    if payer is None:
        return "unknown"
    drug = drugs.get(line.procedure_code)
    if drug is None or "JW" in line.modifiers:
        return "not_required"
    if not payer.requires_auth(line.procedure_code, drug.drug_class, line.service_date):
        return "not_required"
    return "valid" if known else "unknown"


# --- from the line table -----------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    return text or None


def _split(value: Any) -> list[str]:
    text = _text(value)
    return text.split("|") if text else []


def _date(value: Any) -> dt.date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, dt.datetime):
        return value.date()
    assert isinstance(value, dt.date)
    return value


def _decimal(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return _decimal_of(float(value))


@lru_cache(maxsize=1 << 16)
def _decimal_of(value: float) -> Decimal:
    # units and charges repeat across a history: convert each distinct value once
    return Decimal(repr(value)).normalize() if value != int(value) else Decimal(int(value))


_PROVIDER = "PRACTICE"


def claims_from_frame(frame: pd.DataFrame) -> list[Claim]:
    """Rebuild the claims of a line table (rows of one claim together, in line order) for the audit.

    Values come from our own table, so the objects are built without validation (the simulator's trusted
    builders: the objects validation would give, without its cost); each column is converted once per
    distinct value, and the payers, patients, providers and diagnoses that repeat are shared between
    claims (the audit only reads them; every line and claim has lists of its own).
    Patient identity is what the table keeps: ``member_key`` (the salted member id) stands for the member
    id, the same key the authorization table carries; names and birth dates are not there and not needed.
    """
    n = len(frame)
    if n == 0:
        return []

    def column(name: str, convert: Any) -> list[Any]:
        return _converted(frame[name], convert)

    shared = _Shared()
    ids, submitted = frame["claim_id"].tolist(), column("submission_date", _date)
    line_number = [int(v) for v in frame["line_number"].tolist()]
    code = column("procedure_code", str)
    modifiers = column("modifiers", _split)
    units, charge = column("units", _decimal), column("line_charge", _decimal)
    service = column("service_date", _date)
    pointers = column("diagnosis_pointers", lambda v: [int(p) for p in _split(v)] or [1])
    revenue, ndc = column("revenue_code", _text), column("ndc", _text)
    quantity = column("ndc_quantity", _decimal)
    unit = column("ndc_unit", lambda v: NdcUnit(t) if (t := _text(v)) else None)
    line_auth, control = column("line_prior_authorization", _text), column("line_control_number", _text)
    claim_columns = {name: frame[name].tolist() for name in _CLAIM_COLUMNS}
    claims: list[Claim] = []
    start = 0
    zero = Decimal(0)
    while start < n:
        end = start + 1
        while end < n and ids[end] == ids[start] and submitted[end] == submitted[start]:
            end += 1
        lines = [
            _new_line(
                {
                    "line_number": line_number[i], "procedure_code": code[i], "modifiers": list(modifiers[i]),
                    "units": units[i] or zero, "charge": charge[i] or zero, "service_date": service[i],
                    "diagnosis_pointers": list(pointers[i]), "revenue_code": revenue[i], "ndc": ndc[i],
                    "ndc_quantity": quantity[i], "ndc_unit": unit[i], "prior_authorization": line_auth[i],
                    "control_number": control[i], "description": None,
                }
            )
            for i in range(start, end)
        ]  # fmt: skip
        claims.append(_claim_at(claim_columns, start, lines, submitted[start], shared))
        start = end
    return claims


def _converted(values: pd.Series, convert: Any) -> list[Any]:
    """``convert`` of each value, computed once per distinct value (missing values become ``None``)."""
    codes, uniques = values.factorize(use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    for k, value in enumerate(uniques.tolist()):  # one by one: numpy would make lists of lists 2-D
        table[k] = convert(value)
    table[-1] = convert(None)
    result: list[Any] = table[codes].tolist()  # code -1 (missing) takes the last entry
    return result


_BIRTH = dt.date(1900, 1, 1)
_new_line = builder(ClaimLine, tuple(ClaimLine.model_fields))
_new_claim = builder(Claim, tuple(Claim.model_fields))


class _Shared:
    """The sub-objects many claims of a table have in common, made once."""

    def __init__(self) -> None:
        self.payers: dict[tuple[Any, Any, Any], Payer] = {}
        self.patients: dict[tuple[Any, Any], Patient] = {}
        self.providers: dict[Any, Provider] = {}
        self.diagnoses: dict[str, Diagnosis] = {}

    def payer(self, payer_id: Any, name: Any, plan_type: Any) -> Payer:
        key = (payer_id, name, plan_type)
        found = self.payers.get(key)
        if found is None:
            found = self.payers[key] = trusted(
                Payer, payer_id=str(payer_id), name=str(name), plan_type=PlanType(plan_type), address=None
            )
        return found

    def patient(self, member: Any, sex: Any) -> Patient:
        key = (member, sex)
        found = self.patients.get(key)
        if found is None:
            found = self.patients[key] = trusted(
                Patient, member_id=str(member), last_name="-", first_name=None, birth_date=_BIRTH,
                sex=Sex(sex), relationship="18", address=None,
            )  # fmt: skip
        return found

    def provider(self, npi: Any) -> Provider:
        found = self.providers.get(npi)
        if found is None:
            found = self.providers[npi] = trusted(
                Provider, npi=str(npi), name=_PROVIDER, tax_id=None, taxonomy=None, address=None
            )
        return found

    def diagnosis_list(self, value: Any) -> list[Diagnosis]:
        found: list[Diagnosis] = []
        for code in _split(value):
            diagnosis = self.diagnoses.get(code)
            if diagnosis is None:
                diagnosis = self.diagnoses[code] = trusted(Diagnosis, code=code)
            found.append(diagnosis)
        return found


def _claim_at(
    c: Mapping[str, list[Any]], i: int, lines: list[ClaimLine], submitted: Any, shared: _Shared
) -> Claim:
    return _new_claim(
        {
            "claim_id": str(c["claim_id"][i]),
            "form": ClaimForm(c["form"][i]),
            "frequency_code": _text(c["frequency_code"][i]) or "1",
            "payer": shared.payer(c["payer_id"][i], c["payer_name"][i], c["plan_type"][i]),
            "patient": shared.patient(c["member_key"][i], c["patient_sex"][i]),
            "subscriber": None,
            "billing_provider": shared.provider(c["billing_npi"][i]),
            "rendering_provider": None,
            "place_of_service": _text(c["place_of_service"][i]),
            "type_of_bill": _text(c["type_of_bill"][i]),
            "diagnoses": shared.diagnosis_list(c["diagnoses"][i]),
            "condition_codes": _split(c["condition_codes"][i]),
            "clinical_trial_number": _text(c["clinical_trial_number"][i]),
            "prior_authorization": _text(c["claim_prior_authorization"][i]),
            "payer_claim_number": None,
            "submission_date": submitted,
            "lines": lines,
        }
    )


_CLAIM_COLUMNS = (
    "claim_id", "form", "frequency_code", "payer_id", "payer_name", "plan_type", "member_key", "patient_sex",
    "billing_npi", "place_of_service", "type_of_bill", "diagnoses", "condition_codes", "clinical_trial_number",
    "claim_prior_authorization",
)  # fmt: skip


def authorizations_from_frame(frame: pd.DataFrame | None) -> list[Authorization]:
    """The authorizations of an ``authorizations.parquet`` table (``member_key`` as the member id)."""
    if frame is None or len(frame) == 0 or "member_key" not in frame:
        return []
    auths = []
    for row in frame.to_dict("records"):
        auths.append(
            Authorization.model_construct(
                number=str(row["number"]),
                payer_id=str(row["payer_id"]),
                member_id=str(row["member_key"]),
                approved_codes=_split(row["approved_codes"]),
                approved_units=_decimal(row.get("approved_units")),
                approved_visits=None,
                start_date=_date(row["start_date"]),  # type: ignore[arg-type]
                end_date=_date(row["end_date"]),  # type: ignore[arg-type]
                status=AuthorizationStatus(row["status"]),
                requested_date=_date(row.get("requested_date")),
                decided_date=_date(row.get("decided_date")),
            )
        )
    return auths


def _annotate_chunk(args: tuple[pd.DataFrame, list[Authorization] | None]) -> dict[str, list[str]]:
    frame, auths = args
    columns, _ = annotate_claims(claims_from_frame(frame), payers=payers_by_id(), authorizations=auths)
    return columns


def annotate_frame(
    frame: pd.DataFrame,
    authorizations: pd.DataFrame | None = None,
    *,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """The line table with the context columns added (same rows, same order), audited point in time.

    Claims are audited in submission order per member; members are split across ``n_jobs`` processes
    (default: the CPUs available, at most 2). ``authorizations=None``: not known (see
    :func:`annotate_claims`).
    """
    order = np.lexsort(
        (frame["line_number"].to_numpy(), frame["claim_id"].to_numpy(), frame["submission_date"].to_numpy())
    )
    ordered = frame.iloc[order].reset_index(drop=True)
    auths = authorizations_from_frame(authorizations) if authorizations is not None else None
    jobs = n_jobs or min(len(os.sched_getaffinity(0)), 2)
    if jobs <= 1 or len(frame) < 20_000:
        shard = np.zeros(len(ordered), dtype=np.int64)
        jobs = 1
    else:
        shard = (pd.util.hash_array(ordered["member_key"].to_numpy(dtype=object)) % jobs).astype(np.int64)
    positions = [np.flatnonzero(shard == k) for k in range(jobs)]
    parts = []
    for rows in positions:
        part = ordered.iloc[rows]
        members = set(part["member_key"])
        parts.append((part, None if auths is None else [a for a in auths if a.member_id in members]))
    if len(parts) == 1:
        results = [_annotate_chunk(parts[0])]
    else:
        with ProcessPoolExecutor(len(parts), mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_annotate_chunk, parts))
    out = frame.copy()
    for name in CONTEXT_COLUMNS:
        values = np.empty(len(frame), dtype=object)
        for rows, result in zip(positions, results, strict=True):
            values[order[rows]] = result[name]
        out[name] = values
    return out
