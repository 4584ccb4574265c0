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
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from claims.enums import AdjustmentGroup, AuthorizationStatus, ClaimForm, DenialCategory, DrugClass, PlanType
from claims.model import Adjustment, Claim, ClaimLine, ClaimPayment, LineOutcome, Remittance
from claims.policy import PayerPolicy
from claims.reference import hcpcs_for_ndc, load_admin_codes, load_drugs
from claims.reference.drugs import Drug
from claims.simulate.practice import EM_ALLOWED, PAYER_ADDRESS, Encounter, limit_of
from claims.simulate.unpublished import unpublished_causes
from claims.trusted import builder, trusted, trusted_adjustment

__all__ = ["Cause", "LineTruth", "adjudicate", "unit_limits"]

CO, OA, PR = AdjustmentGroup.CONTRACTUAL, AdjustmentGroup.OTHER, AdjustmentGroup.PATIENT
#: The fields of a line outcome copied from its claim line.
_OUTCOME_BASE = (
    "procedure_code",
    "modifiers",
    "revenue_code",
    "charge",
    "units_paid",
    "service_date",
    "control_number",
)
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


# Causes that are the same for every line they apply to: one shared (immutable) object each.
_NO_AUTHORIZATION = Cause("no_authorization", 0.92, "197", DenialCategory.AUTHORIZATION)
_AUTHORIZATION_PENDING = Cause("authorization_pending", 0.85, "197", DenialCategory.AUTHORIZATION, "N351")
_AUTHORIZATION_EXPIRED = Cause("authorization_expired", 0.9, "197", DenialCategory.AUTHORIZATION, "N351")
_AUTHORIZATION_OTHER_CODE = Cause(
    "authorization_other_code", 0.85, "284", DenialCategory.AUTHORIZATION, "N54"
)
_AUTHORIZATION_UNITS = Cause(
    "authorization_units_exhausted", 0.85, "198", DenialCategory.AUTHORIZATION, "N54"
)
_AUTHORIZATION_NUMBER = Cause("authorization_number_mismatch", 0.45, "197", DenialCategory.AUTHORIZATION)
_NON_PREFERRED = Cause("non_preferred_product", 0.7, "50", DenialCategory.MEDICAL_NECESSITY)
_JW_WITHOUT_WASTE = Cause("jw_without_waste", 0.35, "151", DenialCategory.UNITS_MUE, "N362")
_UNITS_OVER_LIMIT = Cause("units_over_limit", 0.95, "151", DenialCategory.UNITS_MUE, "N362")
_NDC_MISSING = Cause("ndc_missing", 0.9, "16", DenialCategory.CODING_MODIFIER, "M119")
_INVESTIGATIONAL = Cause("investigational_item", 0.97, "96", DenialCategory.NONCOVERED_TRIAL, "N721")
_INVESTIGATIONAL_WITHOUT_Q0 = Cause(
    "investigational_without_q0", 0.97, "114", DenialCategory.NONCOVERED_TRIAL
)
_TRIAL_WITHOUT_Q1 = Cause("trial_routine_without_q1", 0.5, "4", DenialCategory.CODING_MODIFIER)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class _ClaimFacts:
    """What every line of a claim looks at: its codes, its diagnoses without dots, its modifiers by code."""

    codes: list[str]
    dx: list[str]
    modifiers_by_code: dict[str, list[list[str]]]
    code_set: frozenset[str]
    has_admin: bool  # an administration code is on the claim

    @classmethod
    def of(cls, claim: Claim) -> _ClaimFacts:
        by_code: dict[str, list[list[str]]] = defaultdict(list)
        for ln in claim.lines:
            by_code[ln.procedure_code].append(ln.modifiers)
        codes = [ln.procedure_code for ln in claim.lines]
        admin_codes = load_admin_codes()
        return cls(
            codes,
            [d.code.replace(".", "") for d in claim.diagnoses],
            by_code,
            frozenset(codes),
            any(c in admin_codes for c in codes),
        )


@dataclass(frozen=True, slots=True)
class _CodeRules:
    """What a payer's dated rules and the reference tables say about one code in a period in which none
    of the payer's rules starts or ends (see :class:`_PayerRules`)."""

    drug: Drug | None
    requires_auth: bool  # a drug that needs prior authorization
    families: tuple[str, ...]  # diagnosis prefixes it is covered for (payer's own list, else the label's)
    preferred: bool  # a drug the payer prefers another product to
    waste_modifier: bool  # a drug whose lines need JW/JZ under the payer's enforcement (unless packaged)
    primaries: frozenset[str]  # an add-on's allowed primary codes (empty for other codes)


class _PayerRules:
    """A payer's causes with its own probabilities (built once), and its rules per code and period.

    The payer's dated rules (prior authorization, coverage, biosimilar preferences, JW/JZ enforcement)
    only change on their start and end dates, so what they say about a code is the same for every date
    between two such boundaries: it is worked out once per code and period, not once per line.
    """

    __slots__ = ("_boundaries", "_codes", "addon_without_primary", "behaviour", "diagnosis_not_covered",
                 "jw_and_jz", "missing_jw_jz", "missing_modifier_25", "ndc_mismatch", "payer",
                 "second_initial")  # fmt: skip

    def __init__(self, payer: PayerPolicy) -> None:
        self.payer = payer
        medicare = payer.plan_type is PlanType.MEDICARE
        carc, rarc = ("50", "N115") if medicare else ("167", None)
        self.diagnosis_not_covered = Cause(
            "diagnosis_not_covered", payer.dx_strictness, carc, DenialCategory.MEDICAL_NECESSITY, rarc
        )
        carc, rarc = ("16", "MA130") if medicare else ("4", None)
        category = DenialCategory.MISSING_INFORMATION if medicare else DenialCategory.CODING_MODIFIER
        self.missing_jw_jz = Cause("missing_jw_jz", payer.jw_jz_strictness, carc, category, rarc)
        self.jw_and_jz = Cause(
            "jw_and_jz", payer.jw_jz_strictness, "4", DenialCategory.CODING_MODIFIER, "N519"
        )
        self.ndc_mismatch = Cause("ndc_mismatch", 0.9 if payer.requires_ndc else 0.3, "16",
                                  DenialCategory.CODING_MODIFIER, "M119")  # fmt: skip
        self.second_initial = Cause(
            "second_initial", payer.ncci_strictness, "236", DenialCategory.CODING_MODIFIER
        )
        self.addon_without_primary = Cause(
            "addon_without_primary", payer.ncci_strictness, "107", DenialCategory.BUNDLING, "N122"
        )
        carc, rarc, em_category = (
            ("97", "M15", DenialCategory.BUNDLING)
            if medicare
            else ("4", None, DenialCategory.CODING_MODIFIER)
        )
        self.missing_modifier_25 = Cause("missing_modifier_25", payer.modifier_25_strictness, carc,
                                         em_category, rarc)  # fmt: skip
        self.behaviour = _behaviour_causes(payer)
        dated = (*payer.prior_auth, *payer.coverage, *payer.biosimilar_preferences)
        boundaries = {rule.effective_from for rule in dated if rule.effective_from is not None}
        boundaries |= {rule.effective_to + _DAY for rule in dated if rule.effective_to is not None}
        if payer.jw_jz_enforced_from is not None:
            boundaries.add(payer.jw_jz_enforced_from)
        self._boundaries = sorted(boundaries)
        self._codes: dict[tuple[str, int], _CodeRules] = {}

    def at(self, code: str, on: dt.date) -> _CodeRules:
        """The rules for ``code`` on ``on``."""
        key = (code, bisect_right(self._boundaries, on))
        rules = self._codes.get(key)
        if rules is None:
            rules = self._codes[key] = self._rules(code, on)
        return rules

    def _rules(self, code: str, on: dt.date) -> _CodeRules:
        payer = self.payer
        drug = load_drugs().get(code)
        own = payer.covered_prefixes(code, on)
        # The label's indications for antineoplastics; supportive drugs only against the payer's own list.
        families = (
            own if own is not None else (drug.icd10_families if drug and drug.complex_administration else ())
        )
        # JW/JZ scope (oncology-billing.md 3): separately payable single-dose drugs; not hydration supplies
        # (nor drugs packaged under OPPS on a hospital claim: see line_causes).
        waste = (
            drug is not None
            and drug.needs_waste_modifier
            and drug.drug_class is not DrugClass.HYDRATION
            and payer.jw_jz_enforced_from is not None
            and on >= payer.jw_jz_enforced_from
        )
        admin = load_admin_codes().get(code)
        return _CodeRules(
            drug=drug,
            requires_auth=drug is not None and payer.requires_auth(code, drug.drug_class, on),
            families=families,
            preferred=drug is not None and bool(payer.preferred_instead_of(code, on)),
            waste_modifier=waste,
            primaries=frozenset(admin.allowed_primaries) if admin is not None else frozenset(),
        )


_DAY = dt.timedelta(days=1)
_RULES: dict[int, _PayerRules] = {}


def _rules_of(payer: PayerPolicy) -> _PayerRules:
    """The payer's :class:`_PayerRules`, built on first use (kept with the payer object it describes)."""
    rules = _RULES.get(id(payer))
    if rules is None or rules.payer is not payer:
        rules = _RULES[id(payer)] = _PayerRules(payer)
    return rules


_NDC_HCPCS: dict[str, str | None] = {}


def _hcpcs_for_ndc(ndc: str) -> str | None:
    """:func:`claims.reference.hcpcs_for_ndc`, remembered per NDC (the crosswalk is loaded once)."""
    try:
        return _NDC_HCPCS[ndc]
    except KeyError:
        hcpcs = _NDC_HCPCS[ndc] = hcpcs_for_ndc(ndc)
        return hcpcs


def line_causes(encounter: Encounter, line_index: int, *, limits: Mapping[str, int],
                used_units: Mapping[int, Decimal], facts: _ClaimFacts | None = None) -> list[Cause]:  # fmt: skip
    """Causes that may deny line ``line_index`` of the encounter's claim under the billed payer's policy
    (``facts``: :meth:`_ClaimFacts.of` the claim, when the caller has them)."""
    claim = encounter.claim
    if facts is None:
        facts = _ClaimFacts.of(claim)
    payer = encounter.billed_payer
    rules = _rules_of(payer)
    line = claim.lines[line_index]
    code = line.procedure_code
    date = line.service_date
    modifiers = line.modifiers
    waste_line = "JW" in modifiers
    at = rules.at(code, date)
    drug = at.drug
    causes: list[Cause] = []
    # prior authorization
    if at.requires_auth and not waste_line:
        course = encounter.course
        auth = course.authorization_on(date) if payer is course.profile.payer else None
        if auth is None:
            causes.append(_NO_AUTHORIZATION)
        elif auth.status is AuthorizationStatus.PENDING and (
            auth.decided_date is None or auth.decided_date > date
        ):
            causes.append(_AUTHORIZATION_PENDING)
        elif not auth.start_date <= date <= auth.end_date:
            causes.append(_AUTHORIZATION_EXPIRED)
        elif code not in auth.approved_codes:
            causes.append(_AUTHORIZATION_OTHER_CODE)
        elif auth.approved_units is not None and used_units.get(line_index, _ZERO) > auth.approved_units:
            causes.append(_AUTHORIZATION_UNITS)
        elif claim.prior_authorization != auth.number:
            causes.append(_AUTHORIZATION_NUMBER)
    # diagnosis coverage
    families = at.families
    if drug is not None and families and not waste_line and not any(d.startswith(families) for d in facts.dx):
        causes.append(rules.diagnosis_not_covered)
    if at.preferred:
        causes.append(_NON_PREFERRED)
    # JW/JZ (oncology-billing.md 3): separately payable single-dose drugs; not drugs packaged under OPPS
    # (status N) on a hospital claim.
    if at.waste_modifier and not (
        claim.form is ClaimForm.INSTITUTIONAL and drug is not None and drug.opps_status == "N"
    ):
        same_code = facts.modifiers_by_code[code]
        if not waste_line and "JZ" not in modifiers and not any("JW" in m for m in same_code):
            causes.append(rules.missing_jw_jz)
        same_drug = {tuple(m) for m in same_code}
        if ("JW",) in same_drug and any("JZ" in m for m in same_drug):
            causes.append(rules.jw_and_jz)
    if waste_line and line.line_number not in encounter.waste_lines:
        causes.append(_JW_WITHOUT_WASTE)
    # units
    limit = limits.get(code)
    if limit is not None and line.units > limit:
        causes.append(_UNITS_OVER_LIMIT)
    # NDC
    if drug is not None:
        if line.ndc is None:
            if payer.requires_ndc:
                causes.append(_NDC_MISSING)
        elif _hcpcs_for_ndc(line.ndc) not in (None, code):
            causes.append(rules.ndc_mismatch)
    # administration (NCCI)
    if (
        code in INITIAL_CODES
        and any(c in INITIAL_CODES for c in facts.codes[:line_index])
        and DISTINCT.isdisjoint(modifiers)
    ):
        causes.append(rules.second_initial)
    if at.primaries and at.primaries.isdisjoint(facts.code_set):
        causes.append(rules.addon_without_primary)
    if code in EM_CODES and "25" not in modifiers and facts.has_admin:
        causes.append(rules.missing_modifier_25)
    # clinical trials
    if code == "J9999":
        causes.append(_INVESTIGATIONAL if "Q0" in modifiers else _INVESTIGATIONAL_WITHOUT_Q0)
    elif claim.clinical_trial_number and "Q1" not in modifiers and payer.trial_policy == "ncd_310_1":
        causes.append(_TRIAL_WITHOUT_Q1)
    # payer behaviour no public rule catches
    if drug is not None:
        cost = float((limit_of(code, date) or _ZERO) * line.units)
        if cost > 0:
            # Medical review is likelier the costlier the line; what the reviewer decides no rule can foresee.
            review = payer.review_rate * min(1.0, cost / 8_000.0) * payer.review_denial_rate
            if review > 0:
                causes.append(
                    Cause("medical_review", review, "50", DenialCategory.MEDICAL_NECESSITY, rule_based=False)
                )
        # unpublished payer edits (site of care, dollar thresholds): learnable from history, not from rules
        if payer.unpublished:
            for name, probability, carc, category in unpublished_causes(
                payer, claim, drug, encounter.course.profile.age, cost, date
            ):
                causes.append(Cause(name, probability, carc, category, rule_based=False))
    causes.extend(rules.behaviour)
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


class _Shared:
    """The equal amounts and adjustments of one adjudication, each made once (a large run holds millions).

    Every amount shared here is in cents (quantized, or sums and differences of quantized amounts), so
    equal amounts are also written alike (``1.50``, never ``1.5``). Adjustments are shared as the claims'
    payers and diagnoses are: the simulator never changes a domain object once made.
    """

    __slots__ = ("_adjustments", "_amounts")

    def __init__(self) -> None:
        self._amounts: dict[Decimal, Decimal] = {}
        self._adjustments: dict[tuple[AdjustmentGroup, str, Decimal], Adjustment] = {}

    def amount(self, value: Decimal) -> Decimal:
        """``value``, or the equal amount made before it."""
        return self._amounts.setdefault(value, value)

    def adjustment(self, group: AdjustmentGroup, reason: str, amount: Decimal) -> Adjustment:
        """The adjustment of ``amount`` for ``reason`` in ``group``, made on first use."""
        key = (group, reason, amount)
        adjustment = self._adjustments.get(key)
        if adjustment is None:
            adjustment = self._adjustments[key] = trusted_adjustment(group, reason, self.amount(amount))
        return adjustment


#: CLP06 claim filing indicator by plan type (any other plan: commercial, 12).
_FILING_INDICATORS = {"medicare": "MB", "medicare_advantage": "16", "medicaid": "MC"}


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
    keys: dict[int, str] = {}  # a payer object's (first) key in ``payers``
    for key, policy in payers.items():
        keys.setdefault(id(policy), key)
    draw = rng.random
    shared = _Shared()
    order = sorted(range(len(encounters)), key=lambda i: (encounters[i].claim.service_from, i))
    for index in order:
        encounter = encounters[index]
        claim = encounter.claim
        lines = claim.lines
        payer = encounter.billed_payer
        duplicate = claim.claim_id in seen_claims
        seen_claims.add(claim.claim_id)
        used: dict[int, Decimal] = {}
        course = encounter.course
        on = auth = None
        for i, line in enumerate(lines):
            if line.service_date != on:
                on = line.service_date
                auth = course.authorization_on(on)
            if auth is not None and line.procedure_code in auth.approved_codes and "JW" not in line.modifiers:
                if not duplicate:
                    auth_usage[auth.number] += line.units
                used[i] = auth_usage[auth.number]
        claim_level = claim_causes(encounter, duplicate=duplicate)
        facts = _ClaimFacts.of(claim)
        per_line = [
            line_causes(encounter, i, limits=limits, used_units=used, facts=facts) for i in range(len(lines))
        ]
        for line, causes in zip(lines, per_line, strict=True):
            causes = claim_level + causes
            main = max(causes, key=_probability)
            truths.append(LineTruth(index, line.line_number, _combined(causes),
                                    main.category if main.probability > 0 else None, main.name,
                                    main.rule_based))  # fmt: skip
        assert claim.submission_date is not None
        received: dt.date = claim.submission_date + dt.timedelta(days=rng.randint(*payer.remit_lag_days))
        fired = [c for c in claim_level if draw() < c.probability]
        patient = claim.patient
        charge = shared.amount(claim.total_charge)
        common = {
            "claim_id": claim.claim_id, "charge": charge,
            "filing_indicator": _FILING_INDICATORS.get(payer.plan_type.value, "12"),
            "payer_claim_number": f"{payer.payer_id}{received:%y%j}{index:07d}",
            "patient_last_name": patient.last_name, "patient_first_name": patient.first_name,
            "member_id": patient.member_id,
        }  # fmt: skip
        if fired:
            cause = max(fired, key=_probability)
            payment = trusted(
                ClaimPayment, status_code="4", paid=_ZERO, patient_responsibility=_ZERO,
                adjustments=[shared.adjustment(cause.group, cause.carc, charge)],
                remark_codes=[cause.rarc] if cause.rarc else [], **common,
            )  # fmt: skip
        else:
            outcomes = [
                _line_outcome(draw, shared, encounter, line, causes)
                for line, causes in zip(lines, per_line, strict=True)
            ]
            paid = sum([o.paid for o in outcomes], _ZERO)
            pr = sum([a.amount for o in outcomes for a in o.adjustments if a.group is PR], _ZERO)
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
        payments[(keys[id(payer)], week)].append(payment)
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


#: Line outcomes, denied (with remark codes) and paid (without), built from complete field dicts.
_DENIED_OUTCOME = builder(LineOutcome, ("paid", "allowed", "adjustments", "remark_codes", *_OUTCOME_BASE))
_PAID_OUTCOME = builder(LineOutcome, ("paid", "allowed", "adjustments", *_OUTCOME_BASE))


def _line_outcome(
    draw: Callable[[], float], shared: _Shared, encounter: Encounter, line: ClaimLine, causes: Sequence[Cause]
) -> LineOutcome:
    """How the payer decides ``line``: each cause fires with its probability (one ``draw`` each, in order);
    the likeliest cause that fired denies it, else it is paid at the payer's rates."""
    payer = encounter.billed_payer
    charge = line.charge
    fired = [c for c in causes if draw() < c.probability]
    if fired:
        cause = max(fired, key=_probability)
        return _DENIED_OUTCOME({
            "procedure_code": line.procedure_code, "modifiers": line.modifiers, "submitted_procedure_code": None,
            "revenue_code": line.revenue_code, "charge": charge, "paid": _ZERO, "allowed": _ZERO,
            "units_paid": line.units, "service_date": line.service_date, "control_number": line.control_number,
            "adjustments": [shared.adjustment(cause.group, cause.carc, charge)],
            "remark_codes": [cause.rarc] if cause.rarc else [],
        })  # fmt: skip
    allowed = min(charge, _allowed(encounter, line.procedure_code, line.units, line.service_date))
    allowed = shared.amount(allowed.quantize(_CENT))
    coinsurance = (allowed * _decimal(payer.coinsurance)).quantize(_CENT)
    sequestration = (
        ((allowed - coinsurance) * _SEQUESTRATION).quantize(_CENT) if payer.sequestration else _ZERO
    )
    adjustments = []  # in the order an 835 carries them: the CO group, then the PR group
    if charge - allowed:
        adjustments.append(shared.adjustment(CO, "45", charge - allowed))
    if sequestration:
        adjustments.append(shared.adjustment(CO, "253", sequestration))
    if coinsurance:
        adjustments.append(shared.adjustment(PR, "2", coinsurance))
    paid = shared.amount(allowed - coinsurance - sequestration)
    return _PAID_OUTCOME({
        "procedure_code": line.procedure_code, "modifiers": line.modifiers, "submitted_procedure_code": None,
        "revenue_code": line.revenue_code, "charge": charge, "paid": paid,
        "allowed": allowed, "units_paid": line.units, "service_date": line.service_date,
        "control_number": line.control_number, "adjustments": adjustments, "remark_codes": [],
    })  # fmt: skip
