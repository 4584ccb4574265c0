"""Coverage rules: clinical trials, prior authorization, medical necessity, timely filing, duplicates and code
validity (oncology-billing.md 4, 5.2, 6 and 7).

Conventions:

* trial elements (Medicare NCD 310.1, Claims Processing Manual ch.32 §69.6): the 8-digit NCT number (REF*P4),
  Z00.6 as a secondary diagnosis, Q1 on routine lines and Q0 on the investigational item, condition code 30
  on an institutional claim; a Medicare Advantage enrollee's trial routine costs are billed to traditional
  Medicare, not the MA plan;
* prior authorization: the billed payer's policy (``AuditContext.payer``, a
  :class:`~claims.policy.PayerPolicy` or anything with ``requires_auth``) says which lines need
  one; the authorizations on file for the patient and payer say whether one is valid on the service date,
  for the code and with units left (counting the units of the claims already submitted). An authorization
  recorded as pending with a decision date counts as approved from that date;
* medical necessity: the payer's own diagnosis list for the code when it has one, else the drug's label
  families for chemotherapy/complex biologics; a chemotherapy/immunotherapy encounter lists Z51.11/Z51.12
  first and the malignancy after it;
* timely filing counts days from the first service date to the submission date (the claim's, else
  ``AuditContext.today``).

Messages name lines, codes and authorization numbers, never patient data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from claims.audit.engine import AuditContext, Finding, Fix, FixAction, Rule, Severity, rule
from claims.audit.facts import claim_facts, memo
from claims.codes import icd10_status
from claims.enums import AuthorizationStatus, ClaimForm, DrugClass, PlanType
from claims.model import Authorization, Claim, ClaimLine
from claims.reference import Drug, load_admin_codes, load_drugs

__all__ = [
    "AUTH_RULES",
    "MEDICARE_TIMELY_FILING_DAYS",
    "NCT_REQUIRED_FROM",
    "RULES",
    "TIMELY_WARNING_DAYS",
    "auth_expired",
    "auth_missing",
    "auth_not_approved",
    "auth_number_missing",
    "auth_number_wrong",
    "auth_other_code",
    "auth_units_exhausted",
    "code_not_billable",
    "duplicate_claim",
    "duplicate_line",
    "duplicate_line_submitted",
    "dx_header",
    "dx_not_covered",
    "dx_z51_not_first",
    "dx_z51_only",
    "timely_filing_late",
    "timely_filing_near",
    "trial_condition_30",
    "trial_ma_plan",
    "trial_nct_missing",
    "trial_q0_missing",
    "trial_q1_missing",
    "trial_z006_missing",
]

#: CMS: the 8-digit NCT number is mandatory on trial claims from this date (oncology-billing.md 4).
NCT_REQUIRED_FROM = dt.date(2014, 1, 1)
#: Medicare: claims are filed within 12 months of the service date (42 CFR 424.44).
MEDICARE_TIMELY_FILING_DAYS = 365
#: Warn when a claim goes out within this many days of the payer's filing limit.
TIMELY_WARNING_DAYS = 30

_Z51 = ("Z51.11", "Z51.12")
_TRIAL_DX = "Z00.6"
_TRIAL_MODIFIERS = frozenset({"Q0", "Q1"})
_REPEAT_MODIFIERS = frozenset({"76", "77", "59", "XE", "XS", "XU", "XP"})
_INVESTIGATIONAL_WORDS = ("INVESTIGATIONAL", "SPONSOR", "STUDY", "TRIAL", "PROTOCOL")
_SPONSOR_CHARGE = Decimal("0.01")
_INITIAL_CODES = frozenset({"96360", "96365", "96374", "96409", "96413"})
_REPLACEMENT_FREQUENCIES = frozenset({"7", "8"})
_MAX_MODIFIERS = 4
_MAX_DIAGNOSES = 25

#: Office/outpatient E/M codes (99201-99215 is the range checked), and when 99201 stopped being valid.
_EM_OFFICE_VALID = frozenset([str(c) for c in range(99202, 99206)] + [str(c) for c in range(99211, 99216)])
_EM_99201_DELETED = dt.date(2021, 1, 1)
#: Drug administration codes outside our administration table that are real CPT codes (oncology-billing.md
#: 2.1: SC infusion, intra-arterial, unlisted, other chemotherapy routes).
_ADMIN_OTHER = frozenset(
    {
        "96369", "96370", "96371", "96373", "96379", "96405", "96406", "96420", "96422", "96423", "96425",
        "96440", "96446", "96450", "96542", "96549",
    }
)  # fmt: skip

_CITE_TRIAL = "Medicare NCD 310.1; Claims Processing Manual ch.32 §69.6 (CR 8401); oncology-billing.md 4"
_CITE_TRIAL_NCT = (
    "Claims Processing Manual ch.32 §69.6: 8-digit NCT number in 2300 REF*P4 mandatory from 2014-01-01 "
    "(RARC MA50); oncology-billing.md 4"
)
_CITE_TRIAL_MA = (
    "Medicare NCD 310.1: trial routine costs of Medicare Advantage enrollees are billed to the Medicare MAC "
    "(CARC 109); oncology-billing.md 4"
)
_CITE_AUTH = (
    "Payer prior-authorization policy; CARC 197 (absent), 198 (exceeded), 284 (does not apply), RARC N351/N54; "
    "oncology-billing.md 7"
)
_CITE_AUTH_NUMBER = (
    "Prior-authorization number in 837 loop 2300 REF*G1 (2400 REF*G1 per line); oncology-billing.md 7"
)
_CITE_NECESSITY = (
    "SSA §1861(t)(2)(B) (label or compendia), payer coverage policy / LCD diagnosis lists; CARC 50/N115 or 167; "
    "oncology-billing.md 6"
)
_CITE_Z51 = "ICD-10-CM Official Guidelines I.C.2.e.2 (Z51.11/Z51.12 first, the malignancy after); oncology-billing.md 6"
_CITE_TIMELY = (
    "Payer timely filing limit (Medicare: 12 months from the service date, 42 CFR 424.44); CARC 29; "
    "oncology-billing.md 5.2"
)
_CITE_DUP = "CARC 18 (exact duplicate claim/service); oncology-billing.md 5.2"
_CITE_ICD = (
    "ICD-10-CM Official Guidelines I.B.2 (report a code to its full number of characters); CARC 16; "
    "oncology-billing.md 6"
)
_CITE_CODE = "CPT drug administration (96360-96549) and E/M code sets; oncology-billing.md 2.1"

# Keys of the per-claim values several rules share (``claims.audit.facts.memo``).
_AUTH_VIEW = f"{__name__}.auth_view"
_DUPLICATES = f"{__name__}.duplicates"
_TRIAL = f"{__name__}.trial"


# --- helpers ------------------------------------------------------------------------------------------------


def _where(line: ClaimLine) -> str:
    return f"Line {line.line_number} ({line.procedure_code})"


def _n(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _is_waste(line: ClaimLine) -> bool:
    return "JW" in line.modifiers


def _undotted(code: str) -> str:
    return code.replace(".", "")


def _is_neoplasm(code: str) -> bool:
    """C00-D49: malignant, in situ, benign and uncertain-behaviour neoplasms."""
    return code.startswith("C") or (code.startswith("D") and code[1:3].isdigit() and int(code[1:3]) < 50)


def _trial_claim(claim: Claim, context: AuditContext) -> bool:
    """The claim carries any clinical-trial element: NCT number, Z00.6, Q0/Q1 or condition code 30."""
    return memo(context, _TRIAL, claim, _has_trial_element)


def _has_trial_element(claim: Claim, _context: AuditContext) -> bool:
    return (
        claim.clinical_trial_number is not None
        or _TRIAL_DX in claim.diagnosis_codes
        or "30" in claim.condition_codes
        or any(not _TRIAL_MODIFIERS.isdisjoint(line.modifiers) for line in claim.lines)
    )


def _investigational(line: ClaimLine, trial: bool) -> bool:
    """The investigational item of a trial: J9999 or a sponsor-supplied $0.01 line on a trial claim, or J9999
    whose description says it is investigational."""
    if line.procedure_code != "J9999" and line.charge != _SPONSOR_CHARGE:
        return False
    if trial:
        return (
            line.procedure_code == "J9999" and line.description is not None
        ) or line.charge == _SPONSOR_CHARGE
    text = (line.description or "").upper()
    return line.procedure_code == "J9999" and any(word in text for word in _INVESTIGATIONAL_WORDS)


def _can_add_modifier(line: ClaimLine) -> bool:
    return len(line.modifiers) < _MAX_MODIFIERS


def _members(claim: Claim) -> set[str]:
    members = {claim.patient.member_id}
    if claim.subscriber is not None:
        members.add(claim.subscriber.member_id)
    return members


@cache
def _icd_status(code: str) -> str:
    return icd10_status(code)


# --- clinical trials --------------------------------------------------------------------------------------------


@rule(
    id="TRIAL-NCT-MISSING",
    title="Clinical-trial claim (Q0/Q1 or Z00.6) without the NCT number",
    severity=Severity.ERROR,
    citation=_CITE_TRIAL_NCT,
    effective_from=NCT_REQUIRED_FROM,
)
def trial_nct_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    if claim.clinical_trial_number is not None or not _trial_claim(claim, context):
        return
    flagged = [line.line_number for line in claim.lines if not _TRIAL_MODIFIERS.isdisjoint(line.modifiers)]
    if not flagged and _TRIAL_DX not in claim.diagnosis_codes:
        return
    what = "Q0/Q1 modifiers" if flagged else "diagnosis Z00.6"
    yield rule_.finding(
        flagged,
        f"Claim has clinical-trial elements ({what}) but no NCT number; report the 8-digit ClinicalTrials.gov "
        "number in REF*P4 (from the study's records).",
    )


@rule(
    id="TRIAL-Z006-MISSING",
    title="Clinical-trial claim with an NCT number but without diagnosis Z00.6",
    severity=Severity.ERROR,
    citation=_CITE_TRIAL,
)
def trial_z006_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    if claim.clinical_trial_number is None or _TRIAL_DX in claim.diagnosis_codes:
        return
    fix = (
        Fix(FixAction.ADD_DIAGNOSIS, None, _TRIAL_DX, "add Z00.6 as a secondary diagnosis")
        if len(claim.diagnoses) < _MAX_DIAGNOSES
        else None
    )
    yield rule_.finding(
        [],
        f"Claim carries NCT number {claim.clinical_trial_number} but not diagnosis Z00.6; add Z00.6 as a "
        "secondary diagnosis.",
        fix,
    )


@rule(
    id="TRIAL-Q1-MISSING",
    title="Routine line of a clinical-trial claim without Q1",
    severity=Severity.WARNING,
    citation=_CITE_TRIAL,
)
def trial_q1_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    if claim.clinical_trial_number is None and _TRIAL_DX not in claim.diagnosis_codes:
        return
    for line in claim.lines:
        if not _TRIAL_MODIFIERS.isdisjoint(line.modifiers) or _investigational(line, True):
            continue
        fix = (
            Fix(FixAction.ADD_MODIFIER, line.line_number, "Q1", f"add Q1 to line {line.line_number}")
            if _can_add_modifier(line)
            else None
        )
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: routine service on a clinical-trial claim without Q1; add Q1 (or bill services "
            "unrelated to the trial on a separate claim).",
            fix,
        )


@rule(
    id="TRIAL-Q0-MISSING",
    title="Investigational item without Q0",
    severity=Severity.ERROR,
    citation=_CITE_TRIAL,
)
def trial_q0_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    trial = _trial_claim(claim, context)
    for line in claim.lines:
        if "Q0" in line.modifiers or not _investigational(line, trial):
            continue
        fix = None
        if "Q1" in line.modifiers:
            fix = None  # Q1 has to go first: two edits, left to the biller
        elif _can_add_modifier(line):
            fix = Fix(FixAction.ADD_MODIFIER, line.line_number, "Q0", f"add Q0 to line {line.line_number}")
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: investigational item of a clinical trial without Q0; report it with Q0 "
            "(non-covered, sponsor-supplied).",
            fix,
        )


@rule(
    id="TRIAL-CONDITION-30",
    title="Institutional clinical-trial claim without condition code 30",
    severity=Severity.ERROR,
    citation=_CITE_TRIAL,
)
def trial_condition_30(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    if (
        claim.form is not ClaimForm.INSTITUTIONAL
        or "30" in claim.condition_codes
        or not _trial_claim(claim, context)
    ):
        return
    yield rule_.finding(
        [],
        "Institutional clinical-trial claim without condition code 30 (HI*BG); add condition code 30.",
        Fix(FixAction.ADD_CONDITION_CODE, None, "30", "add condition code 30"),
    )


@rule(
    id="TRIAL-MA-PLAN",
    title="Clinical-trial routine costs of a Medicare Advantage enrollee billed to the MA plan",
    severity=Severity.ERROR,
    citation=_CITE_TRIAL_MA,
    payer_types=(PlanType.MEDICARE_ADVANTAGE,),
)
def trial_ma_plan(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    policy = getattr(context.payer, "trial_policy", "bill_medicare") if context.payer is not None else None
    if policy not in (None, "bill_medicare") or not _trial_claim(claim, context):
        return
    yield rule_.finding(
        [],
        "Clinical-trial claim billed to a Medicare Advantage plan; the routine costs of a qualifying trial go "
        "to traditional Medicare (the MAC), not the MA plan.",
    )


# --- prior authorization ------------------------------------------------------------------------------------


def _approved_on(auth: Authorization, on: dt.date) -> bool:
    if auth.status is AuthorizationStatus.APPROVED:
        return True
    return (
        auth.status is AuthorizationStatus.PENDING
        and auth.decided_date is not None
        and auth.decided_date <= on
    )


def _covers(auth: Authorization, code: str, on: dt.date) -> bool:
    return code in auth.approved_codes and auth.start_date <= on <= auth.end_date and _approved_on(auth, on)


def _number(claim: Claim, line: ClaimLine) -> str | None:
    return line.prior_authorization or claim.prior_authorization


def _pick(covering: Sequence[Authorization], number: str | None) -> Authorization:
    """The authorization a line draws on: the one whose number it carries, else the latest started."""
    for auth in covering:
        if auth.number == number:
            return auth
    return max(covering, key=lambda a: a.start_date)


class _AuthView:
    """What the authorization rules need to know about one claim (computed once per rule call)."""

    def __init__(self, claim: Claim, context: AuditContext) -> None:
        # Nothing here refers back to the context: the view is kept in ``context.extra``, and a reference
        # cycle would leave every audited claim to the cyclic collector instead of freeing it at once.
        payer = context.payer
        members = _members(claim)
        payer_id = claim.payer.payer_id
        self.auths = [a for a in context.authorizations if a.member_id in members and a.payer_id == payer_id]
        self.lines: list[tuple[ClaimLine, list[Authorization]]] = []
        if payer is None or not hasattr(payer, "requires_auth"):
            return
        drugs = load_drugs()
        for line in claim.lines:
            if _is_waste(line):
                continue
            drug = drugs.get(line.procedure_code)
            drug_class: DrugClass | None = drug.drug_class if drug is not None else None
            if bool(payer.requires_auth(line.procedure_code, drug_class, line.service_date)):
                covering = [a for a in self.auths if _covers(a, line.procedure_code, line.service_date)]
                self.lines.append((line, covering))

    def invalid(self) -> Iterator[tuple[ClaimLine, str, Authorization | None]]:
        """Lines needing an authorization that none on file covers: (line, problem, the auth concerned)."""
        for line, covering in self.lines:
            if covering:
                continue
            code, on = line.procedure_code, line.service_date
            same_code = [a for a in self.auths if code in a.approved_codes]
            in_window = [a for a in same_code if a.start_date <= on <= a.end_date]
            if in_window:
                yield line, "not_approved", in_window[-1]
            elif same_code:
                yield line, "expired", min(same_code, key=lambda a: abs((a.end_date - on).days))
            else:
                window = [a for a in self.auths if a.start_date <= on <= a.end_date]
                if window:
                    yield line, "other_code", window[-1]
                else:
                    yield line, "missing", None


def _view(claim: Claim, context: AuditContext) -> _AuthView:
    return memo(context, _AUTH_VIEW, claim, _AuthView)


def _auth_findings(rule_: Rule, claim: Claim, context: AuditContext, problem: str) -> Iterator[Finding]:
    view = _view(claim, context)
    for line, kind, auth in view.invalid():
        if kind != problem:
            continue
        on = line.service_date
        if kind == "missing":
            text = (
                "no prior authorization on file with this payer; obtain one before billing "
                "(retro-authorization is rarely granted)."
            )
        elif kind == "not_approved":
            assert auth is not None
            state = auth.status.value
            if auth.status is AuthorizationStatus.PENDING and auth.decided_date is not None:
                text = (
                    f"authorization {auth.number} was still pending on the service date "
                    f"(decided {auth.decided_date})."
                )
            else:
                text = f"authorization {auth.number} is {state}, not approved, for the service date."
        elif kind == "expired":
            assert auth is not None
            if on > auth.end_date:
                text = f"authorization {auth.number} expired on {auth.end_date}; request a renewal covering {on}."
            else:
                text = (
                    f"authorization {auth.number} starts on {auth.start_date}, after the service date {on}."
                )
        else:
            assert auth is not None
            text = (
                f"authorization {auth.number} covers {', '.join(auth.approved_codes)}, not "
                f"{line.procedure_code}; update the authorization for the code billed."
            )
        yield rule_.finding([line.line_number], f"{_where(line)}: {text}")


@rule(id="AUTH-MISSING", title="Prior authorization required but none on file", severity=Severity.ERROR,
      citation=_CITE_AUTH)  # fmt: skip
def auth_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    yield from _auth_findings(rule_, claim, context, "missing")


@rule(id="AUTH-NOT-APPROVED", title="Prior authorization pending or denied on the service date",
      severity=Severity.ERROR, citation=_CITE_AUTH)  # fmt: skip
def auth_not_approved(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    yield from _auth_findings(rule_, claim, context, "not_approved")


@rule(id="AUTH-EXPIRED", title="Prior authorization expired (or not started) on the service date",
      severity=Severity.ERROR, citation=_CITE_AUTH)  # fmt: skip
def auth_expired(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    yield from _auth_findings(rule_, claim, context, "expired")


@rule(id="AUTH-OTHER-CODE", title="Prior authorization on file is for another code", severity=Severity.ERROR,
      citation=_CITE_AUTH)  # fmt: skip
def auth_other_code(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    yield from _auth_findings(rule_, claim, context, "other_code")


def _usage(claims: Iterable[Claim], auths: Sequence[Authorization], target: Authorization) -> Decimal:
    """Units of ``target`` used by ``claims`` (each claim id counted once)."""
    # A line draws on the target only if an authorization of the target's number covers it: only the lines
    # dated within those authorizations' windows need the look-up of the authorization they draw on.
    namesakes = [a for a in auths if a.number == target.number]
    if not namesakes:
        return Decimal(0)
    start, end = min(a.start_date for a in namesakes), max(a.end_date for a in namesakes)
    codes = target.approved_codes
    first: dict[str, Claim] = {}  # each claim id counted once: its first claim
    for other in claims:
        first.setdefault(other.claim_id, other)
    candidates = [
        (other, line)
        for other in first.values()
        for line in other.lines
        if line.procedure_code in codes and start <= line.service_date <= end and not _is_waste(line)
    ]
    used = Decimal(0)
    for other, line in candidates:
        covering = [a for a in auths if _covers(a, line.procedure_code, line.service_date)]
        if covering and _pick(covering, _number(other, line)).number == target.number:
            used += line.units
    return used


@rule(id="AUTH-UNITS-EXHAUSTED", title="Approved units of the prior authorization used up",
      severity=Severity.ERROR, citation=_CITE_AUTH)  # fmt: skip
def auth_units_exhausted(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    view = _view(claim, context)
    needs = {line.line_number for line, covering in view.lines if covering}
    if not needs:
        return
    members = _members(claim)
    claim_id, payer_id = claim.claim_id, claim.payer.payer_id
    earlier = [
        c
        for c in context.submitted
        if c is not claim
        and c.claim_id != claim_id
        and c.payer.payer_id == payer_id
        and c.patient.member_id in members
    ]
    running: dict[str, Decimal] = {}
    # Every line of an approved code draws on the authorization, whether or not the payer requires it.
    for line in claim.lines:
        if _is_waste(line):
            continue
        covering = [a for a in view.auths if _covers(a, line.procedure_code, line.service_date)]
        if not covering:
            continue
        auth = _pick(covering, _number(claim, line))
        if auth.approved_units is None:
            continue
        if auth.number not in running:
            running[auth.number] = _usage(earlier, view.auths, auth)
        running[auth.number] += line.units
        if line.line_number in needs and running[auth.number] > auth.approved_units:
            yield rule_.finding(
                [line.line_number],
                f"{_where(line)}: the {_n(auth.approved_units)} units approved under authorization {auth.number} "
                "are used up by this line and the claims already billed against it; request more units first.",
            )


@rule(id="AUTH-NUMBER-MISSING", title="Prior authorization on file but its number is not on the claim",
      severity=Severity.ERROR, citation=_CITE_AUTH_NUMBER)  # fmt: skip
def auth_number_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    view = _view(claim, context)
    missing = [(line, covering) for line, covering in view.lines if covering and _number(claim, line) is None]
    if not missing:
        if (
            view.lines
            or claim.prior_authorization is not None
            or any(line.prior_authorization for line in claim.lines)
        ):
            return
        # No line needs it, but the course's authorization is active: most payers expect it on every claim.
        active = [
            a
            for a in view.auths
            if a.start_date <= claim.service_from
            and claim.service_to <= a.end_date
            and _approved_on(a, claim.service_from)
        ]
        if active and context.payer is not None:
            number = max(active, key=lambda a: a.start_date).number
            yield Finding(
                rule_.id,
                Severity.WARNING,
                (),
                f"Authorization {number} is active for this patient and payer but the claim carries no "
                "authorization number; report it in REF*G1.",
                rule_.citation,
                Fix(
                    FixAction.ATTACH_AUTHORIZATION,
                    None,
                    number,
                    f"attach authorization {number} to the claim",
                ),
            )
        return
    common = set.intersection(*({a.number for a in covering} for _, covering in missing))
    if common:
        first = _pick(missing[0][1], None).number
        number = first if first in common else sorted(common)[0]
        yield rule_.finding(
            [line.line_number for line, _ in missing],
            f"{', '.join(_where(line) for line, _ in missing[:4])}: authorization {number} is on file but the "
            "claim carries no authorization number; report it in REF*G1.",
            Fix(FixAction.ATTACH_AUTHORIZATION, None, number, f"attach authorization {number} to the claim"),
        )
        return
    for line, covering in missing:
        number = _pick(covering, None).number
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: authorization {number} is on file but the line carries no authorization number; "
            "report it in the line's REF*G1.",
            Fix(
                FixAction.ATTACH_AUTHORIZATION,
                line.line_number,
                number,
                f"attach {number} to line {line.line_number}",
            ),
        )


@rule(id="AUTH-NUMBER-WRONG", title="Authorization number on the claim matches no valid authorization for the line",
      severity=Severity.ERROR, citation=_CITE_AUTH_NUMBER)  # fmt: skip
def auth_number_wrong(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    view = _view(claim, context)
    on_file = {a.number for a in view.auths}
    wrong = [
        (line, covering)
        for line, covering in view.lines
        if covering
        and (number := _number(claim, line)) is not None
        and number not in {a.number for a in covering}
    ]
    if not wrong:
        return
    # A claim-level fix must keep every other line that uses the claim-level number valid.
    claim_level = [
        (line, covering) for line, covering in view.lines if covering and line.prior_authorization is None
    ]
    for line, covering in wrong:
        number = _number(claim, line)
        known = (
            "matches no authorization on file"
            if number not in on_file
            else "is not valid for this code and date"
        )
        fix = None
        if len({a.number for a in covering}) == 1:
            right = covering[0].number
            at_claim_level = line.prior_authorization is None and all(
                right in {a.number for a in cov} for _, cov in claim_level
            )
            fix = Fix(
                FixAction.ATTACH_AUTHORIZATION,
                None if at_claim_level else line.line_number,
                right,
                f"report authorization {right}" + ("" if at_claim_level else f" on line {line.line_number}"),
            )
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: authorization number {number} {known}; the valid authorization on file is "
            f"{', '.join(sorted({a.number for a in covering}))}.",
            fix,
        )


# --- medical necessity --------------------------------------------------------------------------------------


@rule(
    id="NECESSITY-DX-NOT-COVERED",
    title="No diagnosis on the claim is covered for the drug",
    severity=Severity.ERROR,
    citation=_CITE_NECESSITY,
)
def dx_not_covered(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    payer = context.payer
    diagnoses = [_undotted(code) for code in claim.diagnosis_codes]
    for line, drug in claim_facts(claim, context).drug_lines:
        if _is_waste(line):
            continue
        own: tuple[str, ...] | None = None
        if payer is not None and hasattr(payer, "covered_prefixes"):
            own = payer.covered_prefixes(line.procedure_code, line.service_date)
        families = own if own is not None else (drug.icd10_families if drug.complex_administration else ())
        if not families or any(d.startswith(tuple(families)) for d in diagnoses):
            continue
        source = "the payer's coverage policy" if own is not None else "the drug's labeled indications"
        shown = ", ".join(families[:8]) + (" ..." if len(families) > 8 else "")
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: none of the claim's diagnoses is in "
            f"{source} for {line.procedure_code} ({shown}); check the diagnosis, or document compendia support "
            "and the payer's off-label policy.",
        )


def _antineoplastic_lines(claim: Claim, context: AuditContext) -> list[tuple[ClaimLine, Drug]]:
    return [
        (line, drug)
        for line, drug in claim_facts(claim, context).drug_lines
        if drug.complex_administration and drug.drug_class is not DrugClass.HORMONAL and not _is_waste(line)
    ]


@rule(
    id="DX-Z51-NOT-FIRST",
    title="Chemotherapy/immunotherapy encounter without Z51.11/Z51.12 as the first diagnosis",
    severity=Severity.WARNING,
    citation=_CITE_Z51,
)
def dx_z51_not_first(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    lines = _antineoplastic_lines(claim, context)
    codes = claim.diagnosis_codes
    if not lines or codes[0] in _Z51 or not any(_is_neoplasm(c) for c in codes):
        return  # not an antineoplastic encounter, or given for a non-cancer condition (coded to the condition)
    present = [c for c in codes if c in _Z51]
    if present:
        value = present[0]
    else:
        value = "Z51.12" if all(drug.drug_class is DrugClass.IMMUNOTHERAPY for _, drug in lines) else "Z51.11"
    fix = (
        Fix(FixAction.SET_PRINCIPAL_DIAGNOSIS, None, value, f"list {value} first")
        if present or len(codes) < _MAX_DIAGNOSES
        else None
    )
    yield rule_.finding(
        [line.line_number for line, _ in lines],
        f"Antineoplastic drug encounter ({', '.join(line.procedure_code for line, _ in lines[:4])}) whose first "
        f"diagnosis is {codes[0]}; list {value} first and the malignancy after it.",
        fix,
    )


@rule(
    id="DX-Z51-ONLY",
    title="Z51.11/Z51.12 without the malignancy being treated",
    severity=Severity.ERROR,
    citation=_CITE_Z51,
)
def dx_z51_only(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    codes = claim.diagnosis_codes
    z51 = [c for c in codes if c in _Z51 or c == "Z51.1"]
    if not z51 or any(_is_neoplasm(c) for c in codes):
        return
    yield rule_.finding(
        [],
        f"Claim lists {z51[0]} but no cancer diagnosis (C00-D49); add the malignancy being treated as a "
        "secondary diagnosis and point the drug lines to it.",
    )


@rule(
    id="DX-ICD10-HEADER",
    title="ICD-10-CM diagnosis is a category, not a billable code",
    severity=Severity.ERROR,
    citation=_CITE_ICD,
)
def dx_header(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    for position, code in enumerate(claim.diagnosis_codes, start=1):
        if _icd_status(code) == "header":
            lines = [line.line_number for line in claim.lines if position in line.diagnosis_pointers]
            yield rule_.finding(
                lines,
                f"Diagnosis {code} is a category that needs more characters; report the complete, "
                "billable code from the record.",
            )


# --- timely filing ------------------------------------------------------------------------------------------


def _filing_limit(claim: Claim, context: AuditContext) -> int | None:
    days: Any = getattr(context.payer, "timely_filing_days", None) if context.payer is not None else None
    if isinstance(days, int):
        return days
    return MEDICARE_TIMELY_FILING_DAYS if claim.payer.plan_type is PlanType.MEDICARE else None


@rule(
    id="TIMELY-FILING-LATE",
    title="Claim submitted after the payer's timely filing limit",
    severity=Severity.ERROR,
    citation=_CITE_TIMELY,
)
def timely_filing_late(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    limit = _filing_limit(claim, context)
    if limit is None:
        return
    days = (context.submission_date(claim) - claim.service_from).days
    if days > limit:
        yield rule_.finding(
            [],
            f"Submitted {days} days after the first service date ({claim.service_from}); the payer's filing limit "
            f"is {limit} days. Send it only with proof of timely filing or a qualifying exception.",
        )


@rule(
    id="TIMELY-FILING-NEAR",
    title="Claim close to the payer's timely filing limit",
    severity=Severity.WARNING,
    citation=_CITE_TIMELY,
)
def timely_filing_near(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    limit = _filing_limit(claim, context)
    if limit is None:
        return
    days = (context.submission_date(claim) - claim.service_from).days
    if limit - TIMELY_WARNING_DAYS < days <= limit:
        yield rule_.finding(
            [],
            f"Submitted {days} days after the first service date ({claim.service_from}); the payer's filing limit "
            f"is {limit} days: send it now and keep the acceptance report.",
        )


# --- duplicates ---------------------------------------------------------------------------------------------


def _line_key(line: ClaimLine) -> tuple[dt.date, str, frozenset[str]]:
    return line.service_date, line.procedure_code, frozenset(line.modifiers)


def _duplicated_lines(claim: Claim, context: AuditContext) -> tuple[bool, list[ClaimLine]]:
    """(same claim id already submitted, lines matching a line of an earlier claim)."""
    return memo(context, _DUPLICATES, claim, _find_duplicates)


def _find_duplicates(claim: Claim, context: AuditContext) -> tuple[bool, list[ClaimLine]]:
    members = _members(claim)
    same_id = claim.claim_id in [c.claim_id for c in context.submitted if c is not claim]
    # A duplicate line has the same service date: look only at earlier lines of the claim's dates (a
    # patient's history grows with every claim; building every key would make the audit quadratic).
    dates = {line.service_date for line in claim.lines}
    same_day = [
        line
        for other in context.submitted
        if other is not claim and other.patient.member_id in members
        for line in other.lines
        if line.service_date in dates
    ]
    if not same_day:
        return same_id, []
    keys = {_line_key(line) for line in same_day}
    return same_id, [line for line in claim.lines if _line_key(line) in keys]


@rule(
    id="DUP-CLAIM",
    title="Claim already submitted (duplicate claim)",
    severity=Severity.ERROR,
    citation=_CITE_DUP,
)
def duplicate_claim(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    if claim.frequency_code in _REPLACEMENT_FREQUENCIES or not context.submitted:
        return
    same_id, lines = _duplicated_lines(claim, context)
    if same_id or len(lines) == len(claim.lines):
        why = "the same claim number" if same_id else "the same services on the same date"
        yield rule_.finding(
            [],
            f"This claim was already submitted ({why}); do not resubmit. Check its status, or send a corrected "
            "claim (frequency code 7) if something changed.",
        )


@rule(
    id="DUP-LINE-SUBMITTED",
    title="Line already billed on an earlier claim",
    severity=Severity.ERROR,
    citation=_CITE_DUP,
)
def duplicate_line_submitted(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    if claim.frequency_code in _REPLACEMENT_FREQUENCIES or not context.submitted:
        return
    same_id, lines = _duplicated_lines(claim, context)
    if same_id or not lines or len(lines) == len(claim.lines):
        return  # the whole claim is a duplicate: DUP-CLAIM
    admin = load_admin_codes()
    primaries = {
        p
        for line in claim.lines
        if line.procedure_code in admin
        for p in admin[line.procedure_code].allowed_primaries
    }
    for line in lines:
        if _REPEAT_MODIFIERS & set(line.modifiers):
            continue
        shares_code = sum(1 for other in claim.lines if other.procedure_code == line.procedure_code) > 1
        fix = (
            None
            if shares_code or line.procedure_code in primaries
            else Fix(FixAction.REMOVE_LINE, line.line_number, None, f"remove line {line.line_number}")
        )
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: the same service on {line.service_date} was already billed on an earlier claim; "
            "remove the line (or add 76/77/59 if it was really given again).",
            fix,
        )


@rule(
    id="DUP-LINE-REPEATED",
    title="The same line twice on one claim without 76/77/59",
    severity=Severity.WARNING,
    citation=_CITE_DUP,
)
def duplicate_line(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    if all(len(lines) == 1 for lines in claim_facts(claim, context).same_drug.values()):
        return  # no code twice on a date: no line can repeat another
    first: dict[tuple[dt.date, str, frozenset[str]], ClaimLine] = {}
    for line in claim.lines:
        key = _line_key(line)
        if key not in first:
            first[key] = line
            continue
        if line.procedure_code in _INITIAL_CODES:
            continue  # a repeated initial code is ADMIN-SECOND-INITIAL's finding
        if _REPEAT_MODIFIERS & set(line.modifiers):
            continue
        earlier = first[key]
        same = earlier.units == line.units and earlier.charge == line.charge
        fix = (
            Fix(FixAction.REMOVE_LINE, line.line_number, None, f"remove line {line.line_number}")
            if same
            else None
        )
        yield rule_.finding(
            [earlier.line_number, line.line_number],
            f"{_where(line)} repeats line {earlier.line_number} (same code, date and modifiers); "
            + ("remove the repeated line" if same else "bill the service once with the total units")
            + ", or add 76/77/59 if it was really a separate service.",
            fix,
        )


# --- code validity ------------------------------------------------------------------------------------------


@rule(
    id="CODE-NOT-BILLABLE",
    title="Administration or E/M code that is not a current billable code",
    severity=Severity.WARNING,
    citation=_CITE_CODE,
)
def code_not_billable(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    admin = load_admin_codes()
    for line in claim.lines:
        code = line.procedure_code
        if not code.isdigit():
            continue
        number = int(code)
        if 96360 <= number <= 96549:
            if code in admin or code in _ADMIN_OTHER:
                continue
            what = "drug administration"
        elif 99201 <= number <= 99215:
            if code in _EM_OFFICE_VALID or (code == "99201" and line.service_date < _EM_99201_DELETED):
                continue
            what = "office/outpatient E/M"
        else:
            continue
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: {code} is not a current {what} code for {line.service_date}; check the code.",
        )


AUTH_RULES: tuple[Rule, ...] = (
    auth_missing,
    auth_not_approved,
    auth_expired,
    auth_other_code,
    auth_units_exhausted,
    auth_number_missing,
    auth_number_wrong,
)

RULES: tuple[Rule, ...] = (
    trial_nct_missing,
    trial_z006_missing,
    trial_q1_missing,
    trial_q0_missing,
    trial_condition_30,
    trial_ma_plan,
    *AUTH_RULES,
    dx_not_covered,
    dx_z51_not_first,
    dx_z51_only,
    dx_header,
    timely_filing_late,
    timely_filing_near,
    duplicate_claim,
    duplicate_line_submitted,
    duplicate_line,
    code_not_billable,
)
