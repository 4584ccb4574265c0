"""Payers decide each line from their policy at the service date, plus probabilistic behaviour.

Every way a line can be denied is a *cause* with a probability, a CARC/RARC and a category. Some causes are
deterministic public rules applied with payer-specific strictness (prior auth, JW/JZ, NCCI, modifier 25,
diagnosis coverage, units, NDC, trial elements, timely filing, duplicates); others are payer behaviour no
rule can foresee (eligibility problems, medical review that is likelier for costly lines, random returns
for missing information). A line's true denial probability is ``1 - prod(1 - p)`` over its causes and its
true reason the most likely cause; the outcome is drawn from exactly those probabilities, so the truth
table is the oracle.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from claims.enums import AdjustmentGroup, AuthorizationStatus, ClaimForm, DenialCategory, DrugClass, PlanType
from claims.model import Claim, ClaimPayment, LineOutcome, Remittance
from claims.policy import PayerPolicy
from claims.reference import hcpcs_for_ndc, load_admin_codes, load_drugs
from claims.simulate.practice import EM_ALLOWED, PAYER_ADDRESS, Encounter, limit_of
from claims.simulate.trusted import trusted, trusted_adjustment
from claims.simulate.unpublished import unpublished_causes

__all__ = ["Cause", "LineTruth", "adjudicate", "unit_limits"]

CO, OA = AdjustmentGroup.CONTRACTUAL, AdjustmentGroup.OTHER
INITIAL_CODES = frozenset({"96413", "96409", "96365", "96374", "96360"})
EM_CODES = frozenset({"99211", "99212", "99213", "99214", "99215", "G0463"})
DISTINCT = frozenset({"59", "XE", "XS", "XP", "XU"})
_CENT = Decimal("0.01")
_probability = attrgetter("probability")
_SEQUESTRATION = Decimal("0.02")


@dataclass(frozen=True, slots=True)
class Cause:
    """One way a line can be denied."""

    name: str
    probability: float
    carc: str
    category: DenialCategory
    rarc: str | None = None
    group: AdjustmentGroup = CO
    rule_based: bool = True  # a deterministic public rule could have caught it


@dataclass(frozen=True, slots=True)
class LineTruth:
    """Ground truth for one submitted line."""

    claim_index: int
    line_number: int
    probability: float
    category: DenialCategory | None
    cause: str | None
    rule_based: bool


def unit_limits(max_doses: Mapping[str, Decimal]) -> dict[str, int]:
    """MUE-like unit limits (simulator defaults): the largest plausible dose in billing units, rounded up to
    a whole largest vial (oncology-billing.md 2.3 suggests this proxy while the CMS table is not loaded)."""
    drugs = load_drugs()
    limits: dict[str, int] = {}
    for code, dose in max_doses.items():
        drug = drugs[code]
        units = math.ceil(dose / drug.billing_unit.amount)
        vial = max((int(v / drug.billing_unit.amount) for v in drug.vial_sizes), default=1) or 1
        limits[code] = math.ceil(units / vial) * vial
    return limits


def _cost(code: str, units: Decimal, on: dt.date) -> float:
    drugs = load_drugs()
    if code in drugs:
        return float((limit_of(code, on) or Decimal(0)) * units)
    return 0.0


@dataclass(frozen=True, slots=True)
class _ClaimFacts:
    """What every line of a claim looks at: its codes, its diagnoses without dots, its modifiers by code."""

    codes: list[str]
    dx: list[str]
    modifiers_by_code: dict[str, list[list[str]]]

    @classmethod
    def of(cls, claim: Claim) -> _ClaimFacts:
        by_code: dict[str, list[list[str]]] = defaultdict(list)
        for ln in claim.lines:
            by_code[ln.procedure_code].append(ln.modifiers)
        return cls(
            [ln.procedure_code for ln in claim.lines],
            [d.code.replace(".", "") for d in claim.diagnoses],
            by_code,
        )


def line_causes(encounter: Encounter, line_index: int, *, limits: Mapping[str, int],
                used_units: Mapping[int, Decimal], facts: _ClaimFacts | None = None) -> list[Cause]:  # fmt: skip
    """Causes that may deny line ``line_index`` of the encounter's claim under the billed payer's policy
    (``facts``: :meth:`_ClaimFacts.of` the claim, when the caller has them)."""
    claim = encounter.claim
    if facts is None:
        facts = _ClaimFacts.of(claim)
    payer = encounter.billed_payer
    line = claim.lines[line_index]
    code = line.procedure_code
    date = line.service_date
    drugs = load_drugs()
    drug = drugs.get(code)
    causes: list[Cause] = []
    medicare = payer.plan_type is PlanType.MEDICARE
    codes = facts.codes
    # prior authorization
    auth = encounter.course.authorization_on(date) if payer is encounter.course.profile.payer else None
    if drug is not None and "JW" not in line.modifiers and payer.requires_auth(code, drug.drug_class, date):
        if auth is None:
            causes.append(Cause("no_authorization", 0.92, "197", DenialCategory.AUTHORIZATION))
        elif auth.status is AuthorizationStatus.PENDING and (
            auth.decided_date is None or auth.decided_date > date
        ):
            causes.append(Cause("authorization_pending", 0.85, "197", DenialCategory.AUTHORIZATION, "N351"))
        elif not auth.start_date <= date <= auth.end_date:
            causes.append(Cause("authorization_expired", 0.9, "197", DenialCategory.AUTHORIZATION, "N351"))
        elif code not in auth.approved_codes:
            causes.append(Cause("authorization_other_code", 0.85, "284", DenialCategory.AUTHORIZATION, "N54"))
        elif auth.approved_units is not None and used_units.get(line_index, Decimal(0)) > auth.approved_units:
            causes.append(
                Cause("authorization_units_exhausted", 0.85, "198", DenialCategory.AUTHORIZATION, "N54")
            )
        elif claim.prior_authorization != auth.number:
            causes.append(Cause("authorization_number_mismatch", 0.45, "197", DenialCategory.AUTHORIZATION))
    # diagnosis coverage
    dx = facts.dx
    own = payer.covered_prefixes(code, date)
    # The label's indications for antineoplastics; supportive drugs only against the payer's own list.
    families = (
        own if own is not None else (drug.icd10_families if drug and drug.complex_administration else ())
    )
    covered = any(d.startswith(f) for d in dx for f in families)
    if drug is not None and families and "JW" not in line.modifiers and not covered:
        carc, rarc = ("50", "N115") if medicare else ("167", None)
        causes.append(
            Cause("diagnosis_not_covered", payer.dx_strictness, carc, DenialCategory.MEDICAL_NECESSITY, rarc)
        )
    if drug is not None and payer.preferred_instead_of(code, date):
        causes.append(Cause("non_preferred_product", 0.7, "50", DenialCategory.MEDICAL_NECESSITY))
    # JW/JZ (single-dose containers, separately payable)
    # JW/JZ scope (oncology-billing.md 3): separately payable single-dose drugs; not hydration supplies, not
    # drugs packaged under OPPS (status N) on a hospital claim.
    packaged = claim.form is ClaimForm.INSTITUTIONAL and drug is not None and drug.opps_status == "N"
    if (
        drug is not None
        and drug.needs_waste_modifier
        and drug.drug_class is not DrugClass.HYDRATION
        and not packaged
        and payer.jw_jz_enforced_from
        and date >= payer.jw_jz_enforced_from
    ):
        same_code = facts.modifiers_by_code[code]
        has_waste_line = any("JW" in m for m in same_code)
        if "JW" not in line.modifiers and "JZ" not in line.modifiers and not has_waste_line:
            carc, rarc = ("16", "MA130") if medicare else ("4", None)
            category = DenialCategory.MISSING_INFORMATION if medicare else DenialCategory.CODING_MODIFIER
            causes.append(Cause("missing_jw_jz", payer.jw_jz_strictness, carc, category, rarc))
        same_drug = {tuple(m) for m in same_code}
        if ("JW",) in same_drug and any("JZ" in m for m in same_drug):
            causes.append(
                Cause("jw_and_jz", payer.jw_jz_strictness, "4", DenialCategory.CODING_MODIFIER, "N519")
            )
    if "JW" in line.modifiers and line.line_number not in encounter.waste_lines:
        causes.append(Cause("jw_without_waste", 0.35, "151", DenialCategory.UNITS_MUE, "N362"))
    # units
    limit = limits.get(code)
    if limit is not None and line.units > limit:
        causes.append(Cause("units_over_limit", 0.95, "151", DenialCategory.UNITS_MUE, "N362"))
    # NDC
    if drug is not None:
        if line.ndc is None and payer.requires_ndc:
            causes.append(Cause("ndc_missing", 0.9, "16", DenialCategory.CODING_MODIFIER, "M119"))
        elif line.ndc is not None and hcpcs_for_ndc(line.ndc) not in (None, code):
            causes.append(Cause("ndc_mismatch", 0.9 if payer.requires_ndc else 0.3, "16",
                                DenialCategory.CODING_MODIFIER, "M119"))  # fmt: skip
    # administration (NCCI)
    admin_codes = load_admin_codes()
    admin = admin_codes.get(code)
    if code in INITIAL_CODES:
        earlier = [c for c in codes[:line_index] if c in INITIAL_CODES]
        if earlier and not DISTINCT & set(line.modifiers):
            causes.append(
                Cause("second_initial", payer.ncci_strictness, "236", DenialCategory.CODING_MODIFIER)
            )
    if admin is not None and admin.allowed_primaries and not set(admin.allowed_primaries) & set(codes):
        causes.append(
            Cause("addon_without_primary", payer.ncci_strictness, "107", DenialCategory.BUNDLING, "N122")
        )
    if code in EM_CODES and "25" not in line.modifiers and any(c in admin_codes for c in codes):
        carc, rarc, cat = (
            ("97", "M15", DenialCategory.BUNDLING)
            if medicare
            else ("4", None, DenialCategory.CODING_MODIFIER)
        )
        causes.append(Cause("missing_modifier_25", payer.modifier_25_strictness, carc, cat, rarc))
    # clinical trials
    if code == "J9999":
        if "Q0" in line.modifiers:
            causes.append(Cause("investigational_item", 0.97, "96", DenialCategory.NONCOVERED_TRIAL, "N721"))
        else:
            causes.append(Cause("investigational_without_q0", 0.97, "114", DenialCategory.NONCOVERED_TRIAL))
    elif claim.clinical_trial_number and "Q1" not in line.modifiers and payer.trial_policy == "ncd_310_1":
        causes.append(Cause("trial_routine_without_q1", 0.5, "4", DenialCategory.CODING_MODIFIER))
    # payer behaviour no public rule catches
    cost = _cost(code, line.units, date)
    if cost > 0:
        # Medical review is likelier the costlier the line; what the reviewer decides no rule can foresee.
        review = payer.review_rate * min(1.0, cost / 8_000.0) * payer.review_denial_rate
        if review > 0:
            causes.append(
                Cause("medical_review", review, "50", DenialCategory.MEDICAL_NECESSITY, rule_based=False)
            )
    # unpublished payer edits (site of care, dollar thresholds): learnable from history, not from rules
    for name, probability, carc, category in unpublished_causes(
        payer, claim, drug, encounter.course.profile.age, cost, date
    ):
        causes.append(Cause(name, probability, carc, category, rule_based=False))
    causes.extend(_behaviour_causes(payer))
    return causes


_BEHAVIOUR: dict[tuple[str, float], tuple[Cause, ...]] = {}


def _behaviour_causes(payer: PayerPolicy) -> tuple[Cause, ...]:
    """The causes every line of the payer's may meet whatever it holds (the same objects for every line)."""
    key = (payer.key, payer.random_denial_rate)
    causes = _BEHAVIOUR.get(key)
    if causes is None:
        causes = _BEHAVIOUR[key] = (
            Cause("documentation_request", payer.random_denial_rate * 0.5, "16",
                  DenialCategory.MISSING_INFORMATION, "MA130", rule_based=False),
            Cause("other_coverage", payer.random_denial_rate * 0.35, "22", DenialCategory.ELIGIBILITY,
                  rule_based=False),
            Cause("benefit_maximum", payer.random_denial_rate * 0.15, "119", DenialCategory.OTHER,
                  rule_based=False),
        )  # fmt: skip
    return causes


def claim_causes(encounter: Encounter, *, duplicate: bool) -> list[Cause]:
    """Causes that deny the whole claim."""
    claim = encounter.claim
    payer = encounter.billed_payer
    causes = [
        Cause(
            "eligibility", payer.eligibility_denial_rate, "27", DenialCategory.ELIGIBILITY, rule_based=False
        )
    ]
    assert claim.submission_date is not None
    if (claim.submission_date - claim.service_from).days > payer.timely_filing_days:
        causes.append(Cause("timely_filing", 0.97, "29", DenialCategory.TIMELY_FILING))
    if duplicate:
        causes.append(Cause("duplicate", 0.95, "18", DenialCategory.DUPLICATE, group=OA))
    profile = encounter.course.profile
    if profile.trial_number is not None:
        if payer.plan_type is PlanType.MEDICARE_ADVANTAGE and payer.trial_policy == "bill_medicare":
            causes.append(Cause("trial_billed_to_ma_plan", 0.85, "109", DenialCategory.ELIGIBILITY))
        if claim.clinical_trial_number is None or "Z00.6" not in claim.diagnosis_codes:
            probability = 0.9 if payer.trial_policy == "ncd_310_1" else 0.3
            causes.append(
                Cause("trial_claim_incomplete", probability, "16", DenialCategory.MISSING_INFORMATION, "MA50")
            )
    return causes


def _combined(causes: Sequence[Cause]) -> float:
    keep = 1.0
    for cause in causes:
        keep *= 1.0 - cause.probability
    return 1.0 - keep


_DECIMALS: dict[float, Decimal] = {}


def _decimal(value: float) -> Decimal:
    """``Decimal(str(value))`` for a policy's rate, remembered (a handful of distinct values)."""
    decimal = _DECIMALS.get(value)
    if decimal is None:
        decimal = _DECIMALS[value] = Decimal(str(value))
    return decimal


def _allowed(encounter: Encounter, code: str, units: Decimal, on: dt.date) -> Decimal:
    payer = encounter.billed_payer
    office = encounter.course.profile.office
    if code in EM_ALLOWED:
        return EM_ALLOWED[code] * _decimal(payer.allowed_percent_of_asp)
    admin = load_admin_codes().get(code)
    if admin is not None:
        factor = payer.admin_percent_of_opps if office else payer.allowed_percent_of_asp
        return (admin.opps_rate or Decimal(0)) * _decimal(factor) * units
    if code in load_drugs():
        limit = limit_of(code, on) or Decimal(0)
        return limit * units * _decimal(payer.allowed_percent_of_asp)
    return Decimal(0)


def adjudicate(
    rng: random.Random,
    encounters: Sequence[Encounter],
    *,
    limits: Mapping[str, int],
    payers: Mapping[str, PayerPolicy],
) -> tuple[list[Remittance], list[LineTruth]]:
    """Decide every encounter; return the 835 remittances (one per payer and week) and the truth."""
    truths: list[LineTruth] = []
    payments: dict[tuple[str, dt.date], list[ClaimPayment]] = defaultdict(list)
    seen_claims: set[str] = set()
    auth_usage: dict[str, Decimal] = defaultdict(Decimal)
    order = sorted(range(len(encounters)), key=lambda i: (encounters[i].claim.service_from, i))
    for index in order:
        encounter = encounters[index]
        claim = encounter.claim
        payer = encounter.billed_payer
        duplicate = claim.claim_id in seen_claims
        seen_claims.add(claim.claim_id)
        used: dict[int, Decimal] = {}
        for i, line in enumerate(claim.lines):
            auth = encounter.course.authorization_on(line.service_date)
            if auth is not None and line.procedure_code in auth.approved_codes and "JW" not in line.modifiers:
                if not duplicate:
                    auth_usage[auth.number] += line.units
                used[i] = auth_usage[auth.number]
        claim_level = claim_causes(encounter, duplicate=duplicate)
        facts = _ClaimFacts.of(claim)
        per_line = [
            line_causes(encounter, i, limits=limits, used_units=used, facts=facts)
            for i in range(len(claim.lines))
        ]
        for i, line in enumerate(claim.lines):
            causes = claim_level + per_line[i]
            main = max(causes, key=_probability)
            truths.append(LineTruth(index, line.line_number, _combined(causes),
                                    main.category if main.probability > 0 else None, main.name,
                                    main.rule_based))  # fmt: skip
        assert claim.submission_date is not None
        received: dt.date = claim.submission_date + dt.timedelta(days=rng.randint(*payer.remit_lag_days))
        fired = [c for c in claim_level if rng.random() < c.probability]
        patient = claim.patient
        common = {
            "claim_id": claim.claim_id, "charge": claim.total_charge,
            "filing_indicator": {"medicare": "MB", "medicare_advantage": "16", "medicaid": "MC"}.get(
                payer.plan_type.value, "12"),
            "payer_claim_number": f"{payer.payer_id}{received:%y%j}{index:07d}",
            "patient_last_name": patient.last_name, "patient_first_name": patient.first_name,
            "member_id": patient.member_id,
        }  # fmt: skip
        if fired:
            cause = max(fired, key=_probability)
            payment = trusted(
                ClaimPayment, status_code="4", paid=Decimal(0), patient_responsibility=Decimal(0),
                adjustments=[trusted_adjustment(cause.group, cause.carc, claim.total_charge)],
                remark_codes=[cause.rarc] if cause.rarc else [], **common,
            )  # fmt: skip
        else:
            outcomes = [_line_outcome(rng, encounter, i, per_line[i]) for i in range(len(claim.lines))]
            paid = sum((o.paid for o in outcomes), Decimal(0))
            pr = sum((a.amount for o in outcomes for a in o.adjustments if a.group is AdjustmentGroup.PATIENT),
                     Decimal(0))  # fmt: skip
            status = "1" if paid > 0 or pr > 0 else "4"
            payment = trusted(
                ClaimPayment,
                status_code=status,
                paid=paid,
                patient_responsibility=pr,
                lines=outcomes,
                **common,
            )
        week = received - dt.timedelta(days=received.weekday())
        payments[(next(k for k, p in payers.items() if p is payer), week)].append(payment)
    remittances = []
    for (key, week), claims in sorted(payments.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        payer = payers[key]
        production = week + dt.timedelta(days=4)
        remittances.append(trusted(
            Remittance, payer_id=payer.payer_id, payer_name=payer.name, payer_address=PAYER_ADDRESS,
            payee_name="RIVERSIDE ONCOLOGY ASSOCIATES", payee_npi="1234567893",
            payment_date=production + dt.timedelta(days=2), production_date=production,
            trace_number=f"{key[:3].upper()}{week:%Y%m%d}", total_paid=sum((c.paid for c in claims), Decimal(0)),
            claims=claims,
        ))  # fmt: skip
    return remittances, truths


def _line_outcome(
    rng: random.Random, encounter: Encounter, index: int, causes: Sequence[Cause]
) -> LineOutcome:
    line = encounter.claim.lines[index]
    payer = encounter.billed_payer
    fired = [c for c in causes if rng.random() < c.probability]
    base = {
        "procedure_code": line.procedure_code, "modifiers": line.modifiers, "revenue_code": line.revenue_code,
        "charge": line.charge, "units_paid": line.units, "service_date": line.service_date,
        "control_number": line.control_number,
    }  # fmt: skip
    if fired:
        cause = max(fired, key=_probability)
        return trusted(
            LineOutcome, paid=Decimal(0), allowed=Decimal(0),
            adjustments=[trusted_adjustment(cause.group, cause.carc, line.charge)],
            remark_codes=[cause.rarc] if cause.rarc else [], **base,
        )  # fmt: skip
    allowed = min(line.charge, _allowed(encounter, line.procedure_code, line.units, line.service_date))
    allowed = allowed.quantize(_CENT)
    coinsurance = (allowed * _decimal(payer.coinsurance)).quantize(_CENT)
    sequestration = (
        ((allowed - coinsurance) * _SEQUESTRATION).quantize(_CENT) if payer.sequestration else Decimal(0)
    )
    adjustments = []  # in the order an 835 carries them: the CO group, then the PR group
    if line.charge - allowed:
        adjustments.append(trusted_adjustment(CO, "45", line.charge - allowed))
    if sequestration:
        adjustments.append(trusted_adjustment(CO, "253", sequestration))
    if coinsurance:
        adjustments.append(trusted_adjustment(AdjustmentGroup.PATIENT, "2", coinsurance))
    return trusted(
        LineOutcome,
        paid=allowed - coinsurance - sequestration,
        allowed=allowed,
        adjustments=adjustments,
        **base,
    )
