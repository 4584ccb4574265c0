"""The practice: patients, treatment courses, authorizations and the claims its coders would submit.

Everything is drawn from one seeded :class:`random.Random` passed in (no global seeding). Claims are
built correctly first (:mod:`claims.simulate.coding`); coder errors are injected afterwards and recorded.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from claims.enums import AuthorizationStatus, ClaimForm, DrugClass, NdcUnit, PlanType, Sex
from claims.model import Address, Authorization, Claim, ClaimLine, Diagnosis, Patient, Payer, Provider
from claims.policy import PayerPolicy
from claims.reference import load_admin_codes, load_drugs, payment_limit
from claims.simulate.clinical import (
    Cancer,
    DoseRule,
    DrugAdministration,
    Regimen,
    TreatmentDay,
    load_premedications,
)
from claims.simulate.coding import AdminLine, DrugLine, InfusionEvent, administration_codes, drug_lines
from claims.simulate.config import SimulationConfig
from claims.trusted import builder, trusted

__all__ = ["Course", "Encounter", "PatientProfile", "Practice", "build_practice"]

_FIRST_F = ("MARY", "LINDA", "SUSAN", "KAREN", "NANCY", "BETTY", "HELEN", "SANDRA", "DONNA", "CAROL", "RUTH",
            "SHARON", "ANNA", "GRACE", "ROSE", "JOAN")  # fmt: skip
_FIRST_M = ("JAMES", "JOHN", "ROBERT", "MICHAEL", "WILLIAM", "DAVID", "RICHARD", "JOSEPH", "THOMAS", "CHARLES",
            "GEORGE", "FRANK", "HENRY", "PAUL", "ARTHUR", "WALTER")  # fmt: skip
_LAST = ("SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "MILLER", "DAVIS", "GARCIA", "RODRIGUEZ", "WILSON",
         "MARTINEZ", "ANDERSON", "TAYLOR", "THOMAS", "MOORE", "JACKSON", "MARTIN", "LEE", "THOMPSON", "WHITE",
         "HARRIS", "CLARK", "LEWIS", "ROBINSON", "WALKER", "YOUNG", "ALLEN", "KING", "WRIGHT", "SCOTT")  # fmt: skip
_STREETS = ("MAPLE", "OAK", "PINE", "CEDAR", "ELM", "WALNUT", "LAKE", "HILL", "RIVER", "PARK")

#: E/M allowed amounts (simulator defaults, roughly the national Medicare PFS / OPPS amounts).
EM_ALLOWED = {
    "99213": Decimal("92"),
    "99214": Decimal("130"),
    "99215": Decimal("183"),
    "G0463": Decimal("135"),
}
#: Chargemaster markup over the Medicare allowed amount (simulator default).
CHARGE_MARKUP = Decimal("2.2")

PRACTICE = Provider(
    npi="1234567893", name="RIVERSIDE ONCOLOGY ASSOCIATES", tax_id="123456789",
    address=Address(line1="100 INFUSION WAY", city="COLUMBUS", state="OH", postal_code="43215"),
)  # fmt: skip
HOSPITAL = Provider(
    npi="1609876549", name="LAKESIDE HOSPITAL OUTPATIENT", tax_id="987654321",
    address=Address(line1="1 HOSPITAL DR", city="COLUMBUS", state="OH", postal_code="43210"),
)  # fmt: skip
#: The address every simulated payer's claims go to.
PAYER_ADDRESS = Address(line1="PO BOX 1000", city="COLUMBUS", state="OH", postal_code="43216")
ONCOLOGISTS = tuple(
    Provider(npi=npi, name=name)
    for npi, name in (("1326048703", "ALEX RIVERA"), ("1598765430", "SAM OKAFOR"), ("1891234563", "JO PATEL"))
)


@dataclass
class PatientProfile:
    """A patient and the facts that drive dosing and payer choice (kept apart from the claim's PHI)."""

    patient: Patient
    cancer: Cancer
    diagnosis: str
    age: int
    bsa: Decimal
    weight_kg: Decimal
    crcl: Decimal
    payer: PayerPolicy
    office: bool
    trial_number: str | None


@dataclass
class Course:
    """One regimen given to one patient, with the authorization on file for it (if any)."""

    profile: PatientProfile
    regimen: Regimen
    start: dt.date
    authorizations: list[Authorization] = field(default_factory=list)  # consecutive windows (renewals)
    auth_failure: str | None = None  # the failure mode drawn for this course's authorization
    substitutes: dict[str, str] = field(default_factory=dict)  # reference code -> code actually used

    def authorization_on(self, day: dt.date) -> Authorization | None:
        """The authorization whose window covers ``day``, else the latest one that started before it."""
        covering = started = None
        for auth in self.authorizations:
            if auth.start_date <= day:
                started = auth
                if day <= auth.end_date:
                    covering = auth
        if covering is not None:
            return covering
        return started if started is not None else (self.authorizations[0] if self.authorizations else None)


@dataclass
class Encounter:
    """One claim-to-be: the encounter's lines before errors, plus what the adjudicator needs to know."""

    course: Course
    claim: Claim
    doses: dict[int, Decimal]  # line number -> administered dose in the drug's measure
    waste_lines: set[int]  # line numbers that are JW lines with real waste
    billed_payer: PayerPolicy
    errors: list[tuple[int | None, str]] = field(default_factory=list)  # (line or None, error type)


@dataclass
class Practice:
    """The simulated practice's patients, courses and encounters."""

    profiles: list[PatientProfile] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    encounters: list[Encounter] = field(default_factory=list)


_PAYERS: dict[tuple[str, str, PlanType], Payer] = {}
_DIAGNOSES: dict[str, Diagnosis] = {}


def payer_of(policy: PayerPolicy) -> Payer:
    """The claim's payer (2010BB) for a policy: one shared object per payer."""
    key = (policy.payer_id, policy.name, policy.plan_type)
    payer = _PAYERS.get(key)
    if payer is None:
        payer = _PAYERS[key] = Payer(
            payer_id=policy.payer_id, name=policy.name, plan_type=policy.plan_type, address=PAYER_ADDRESS
        )
    return payer


def diagnosis_of(code: str) -> Diagnosis:
    """A validated diagnosis, one shared object per code."""
    diagnosis = _DIAGNOSES.get(code)
    if diagnosis is None:
        diagnosis = _DIAGNOSES[code] = Diagnosis(code=code)
    return diagnosis


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    keys = [k for k, _ in weighted]
    return rng.choices(keys, weights=[w for _, w in weighted])[0]


def _member_id(rng: random.Random, plan: PlanType) -> str:
    alphabet = "ACDEFGHJKMNPQRTUVWXY"
    if plan is PlanType.MEDICARE:  # MBI-like: 11 characters
        return str(rng.randint(1, 9)) + "".join(rng.choice(alphabet + "0123456789") for _ in range(10))
    return rng.choice(("XJH", "KQP", "WRN", "MCD")) + "".join(rng.choice("0123456789") for _ in range(9))


def _profile(rng: random.Random, config: SimulationConfig, cancers: Mapping[str, Cancer],
             payers: Mapping[str, PayerPolicy]) -> PatientProfile:  # fmt: skip
    cancer = cancers[_pick(rng, tuple((k, c.share) for k, c in cancers.items()))]
    sex = Sex.MALE if rng.random() < cancer.male_fraction else Sex.FEMALE
    age = int(min(95, max(22, rng.gauss(cancer.age_mean, cancer.age_sd))))
    height_cm = rng.gauss(163 if sex is Sex.FEMALE else 176, 7)
    weight_kg = max(40.0, rng.gauss(72 if sex is Sex.FEMALE else 86, 15))
    bsa = math.sqrt(height_cm * weight_kg / 3600)  # Mosteller
    creatinine = max(0.5, rng.lognormvariate(math.log(0.85 if sex is Sex.FEMALE else 1.0), 0.25))
    crcl = (
        (140 - age) * weight_kg / (72 * creatinine) * (0.85 if sex is Sex.FEMALE else 1.0)
    )  # Cockcroft-Gault
    group = "share_65_plus" if age >= 65 else "share_under_65"
    payer = payers[_pick(rng, tuple((k, getattr(p, group)) for k, p in payers.items()))]
    born = config.start - dt.timedelta(days=int(age * 365.25) + rng.randint(0, 364))
    first = rng.choice(_FIRST_F if sex is Sex.FEMALE else _FIRST_M)
    patient = Patient(
        member_id=_member_id(rng, payer.plan_type), last_name=rng.choice(_LAST), first_name=first,
        birth_date=born, sex=sex, relationship="18",
        address=Address(line1=f"{rng.randint(10, 9999)} {rng.choice(_STREETS)} ST", city="COLUMBUS", state="OH",
                        postal_code=f"43{rng.randint(0, 299):03d}"),
    )  # fmt: skip
    trial = "".join(rng.choice("0123456789") for _ in range(8)) if rng.random() < config.trial_share else None
    diagnosis = _pick(rng, cancer.icd10_for("M" if sex is Sex.MALE else "F"))
    return PatientProfile(
        patient=patient, cancer=cancer, diagnosis=diagnosis, age=age,
        bsa=Decimal(f"{bsa:.2f}"), weight_kg=Decimal(f"{weight_kg:.1f}"), crcl=Decimal(f"{min(crcl, 125):.0f}"),
        payer=payer, office=rng.random() < config.office_share, trial_number=trial,
    )  # fmt: skip


def dose_of(rule: DoseRule, profile: PatientProfile, factor: Decimal = Decimal(1)) -> Decimal:
    """The dose in the drug's measure: BSA, weight, Calvert AUC (CrCl capped at 125 mL/min) or flat."""
    if rule.kind == "bsa":
        dose = rule.value * profile.bsa
    elif rule.kind == "weight":
        dose = rule.value * profile.weight_kg
    elif rule.kind == "auc":
        dose = rule.value * (min(profile.crcl, Decimal(125)) + 25)
    else:
        dose = rule.value
    if rule.kind != "flat":
        dose *= factor
    if rule.cap is not None:
        dose = min(dose, rule.cap)
    return dose.quantize(Decimal("0.1"))


def _charge(allowed_at_medicare: Decimal) -> Decimal:
    return (allowed_at_medicare * CHARGE_MARKUP).quantize(Decimal("0.01"))


_LIMITS: dict[tuple[str, int, int], Decimal | None] = {}


def limit_of(code: str, on: dt.date) -> Decimal | None:
    """:func:`claims.reference.payment_limit`, remembered per code and quarter (it depends on no more)."""
    key = (code, on.year, (on.month - 1) // 3)
    try:
        return _LIMITS[key]
    except KeyError:
        limit = _LIMITS[key] = payment_limit(code, on)
        return limit


def medicare_allowed(code: str, units: Decimal, on: dt.date) -> Decimal:
    """What traditional Medicare would allow for the line: the payment limit, the OPPS rate or the E/M fee."""
    if code in EM_ALLOWED:
        return EM_ALLOWED[code] * units
    admin = load_admin_codes().get(code)
    if admin is not None:
        # Packaged codes (no OPPS rate, e.g. 96368) still carry a charge: $25 a unit (simulator default).
        return (admin.opps_rate or Decimal(25)) * Decimal("0.42") * units
    limit = limit_of(code, on) if code in load_drugs() else None
    return max(limit or Decimal(0), Decimal("0.01")) * units  # every line carries a charge


_CHARGES: dict[tuple[str, Decimal, int, int], Decimal] = {}


def charge_of(code: str, units: Decimal, on: dt.date) -> Decimal:
    """The practice's charge for ``units`` of ``code`` on ``on``: the chargemaster markup over what Medicare
    would allow, remembered per code, units and quarter (it depends on no more; equal units give equal
    charges, which are quantized to the cent)."""
    key = (code, units, on.year, (on.month - 1) // 3)
    charge = _CHARGES.get(key)
    if charge is None:
        charge = _CHARGES[key] = _charge(medicare_allowed(code, units, on))
    return charge


_CHARGE_J9999 = Decimal("0.01")  # the sponsor supplies the investigational agent: a token charge
_ONE = Decimal(1)
_QUANTITIES: dict[int, Decimal] = {}


def _quantity(vials: int) -> Decimal:
    """``Decimal(vials)``, one shared object per count."""
    quantity = _QUANTITIES.get(vials)
    if quantity is None:
        quantity = _QUANTITIES[vials] = Decimal(vials)
    return quantity


_EM_CODES = frozenset(("99213", "99214", "99215", "G0463"))
_LINE_FIELDS = ("line_number", "procedure_code", "modifiers", "units", "charge", "service_date",
                "diagnosis_pointers", "control_number")  # fmt: skip
#: Claim-line builders by (office claim, with an NDC, the investigational J9999): the fields each gives.
_LINE_BUILDERS = {
    (office, ndc, j9999): builder(
        ClaimLine,
        _LINE_FIELDS
        + (() if office else ("revenue_code",))
        + (("description",) if j9999 else ())
        + (("ndc", "ndc_quantity", "ndc_unit") if ndc else ()),
    )
    for office in (False, True)
    for ndc in (False, True)
    for j9999 in (False, True)
}


def _courses_for(rng: random.Random, profile: PatientProfile, config: SimulationConfig,
                 regimens: Mapping[str, Regimen]) -> Course:  # fmt: skip
    regimen = regimens[_pick(rng, profile.cancer.regimens)]
    span = (config.end - config.start).days
    start = config.start + dt.timedelta(days=rng.randint(0, max(1, span - 21)))
    return Course(profile=profile, regimen=regimen, start=start)


def build_practice(rng: random.Random, config: SimulationConfig, *, cancers: Mapping[str, Cancer],
                   regimens: Mapping[str, Regimen], payers: Mapping[str, PayerPolicy]) -> Practice:  # fmt: skip
    """Draw patients and courses until the practice has ``config.claims`` encounters (before duplicates)."""
    practice = Practice()
    medicare = next(p for p in payers.values() if p.plan_type is PlanType.MEDICARE)
    counter = 0
    while len(practice.encounters) < config.claims:
        profile = _profile(rng, config, cancers, payers)
        practice.profiles.append(profile)
        course: Course | None = _courses_for(rng, profile, config, regimens)
        phases = 0
        while course is not None and len(practice.encounters) < config.claims and phases < 4:
            phases += 1
            practice.courses.append(course)
            _choose_products(rng, course, config)
            schedule = _schedule(rng, course, config)
            _authorize(rng, course, schedule, config)
            for day_date, day, factor, cycle in schedule:
                counter += 1
                for encounter in _encounters(
                    rng, course, day_date, day, factor, cycle, counter, config, medicare
                ):
                    practice.encounters.append(encounter)
                    if len(practice.encounters) >= config.claims:
                        break
                if len(practice.encounters) >= config.claims:
                    break
            following = course.regimen.followed_by
            finished = course
            course = None
            if following is not None and schedule:
                start = schedule[-1][0] + dt.timedelta(days=regimens[following].cycle_days)
                if start <= config.end:
                    course = Course(profile=profile, regimen=regimens[following], start=start)
            elif schedule and profile.office and rng.random() < config.port_flush_share:
                # A port left in after treatment is flushed every six weeks or so (96523 alone).
                flush = schedule[-1][0]
                for _ in range(rng.randint(1, 3)):
                    flush += dt.timedelta(days=rng.randint(35, 56))
                    if flush > config.end or len(practice.encounters) >= config.claims:
                        break
                    counter += 1
                    practice.encounters.append(_port_flush(rng, finished, flush, counter, config))
    return practice


def _port_flush(
    rng: random.Random, course: Course, date: dt.date, counter: int, config: SimulationConfig
) -> Encounter:
    """A port maintenance visit: irrigation of the implanted access device, nothing else that day."""
    profile = course.profile
    payer = profile.payer
    claim_id = f"C{counter:07d}P"
    charge = _charge(medicare_allowed("96523", Decimal(1), date))
    line = trusted(
        ClaimLine, line_number=1, procedure_code="96523", units=Decimal(1), charge=charge,
        service_date=date, diagnosis_pointers=[1, 2], control_number=f"{claim_id}-1",
    )  # fmt: skip
    claim = trusted(
        Claim, claim_id=claim_id, form=ClaimForm.PROFESSIONAL, payer=payer_of(payer),
        patient=profile.patient, billing_provider=PRACTICE,
        rendering_provider=ONCOLOGISTS[sum(map(ord, profile.patient.member_id)) % len(ONCOLOGISTS)],
        place_of_service="11", diagnoses=[diagnosis_of("Z45.2"), diagnosis_of(profile.diagnosis)],
        submission_date=date + dt.timedelta(days=rng.randint(*config.submission_lag_days)), lines=[line],
    )  # fmt: skip
    return Encounter(course=course, claim=claim, doses={}, waste_lines=set(), billed_payer=payer)


def _choose_products(rng: random.Random, course: Course, config: SimulationConfig) -> None:
    """Follow the payer's biosimilar preference (most of the time) for the whole course."""
    drugs = load_drugs()
    payer = course.profile.payer
    for day in course.regimen.days:
        for admin in day.drugs:
            preferred = payer.preferred_instead_of(admin.code, course.start)
            options = course.regimen.biosimilar_substitutes.get(admin.code, ())
            if preferred and rng.random() < config.biosimilar_adoption:
                course.substitutes[admin.code] = rng.choice(
                    [c for c in preferred if c in drugs] or [admin.code]
                )
            elif options and rng.random() < 0.3:
                course.substitutes[admin.code] = rng.choice(
                    [c for c in options if c in drugs] or [admin.code]
                )


def _schedule(rng: random.Random, course: Course, config: SimulationConfig
              ) -> list[tuple[dt.date, TreatmentDay, Decimal, int]]:  # fmt: skip
    """Treatment days of the course inside the period: (date, day, dose factor, cycle number)."""
    regimen = course.regimen
    cycles = rng.randint(regimen.cycles_min, regimen.cycles_max)
    factor = Decimal(1)
    cycle_start = course.start
    schedule: list[tuple[dt.date, TreatmentDay, Decimal, int]] = []
    for cycle in range(1, cycles + 1):
        if cycle > 1 and rng.random() < config.hold_rate:
            cycle_start += dt.timedelta(days=7)  # held a week (counts, toxicity)
        if cycle > 1 and factor == 1 and rng.random() < config.dose_reduction_rate:
            factor = Decimal("0.8")
        for day in regimen.days:
            date = cycle_start + dt.timedelta(days=day.day - 1)
            if date > config.end:
                return schedule
            schedule.append((date, day, factor, cycle))
        cycle_start += dt.timedelta(days=regimen.cycle_days)
    return schedule


def _auth_codes(course: Course) -> list[str]:
    drugs = load_drugs()
    payer = course.profile.payer
    codes = []
    for day in course.regimen.days:
        for admin in day.drugs:
            code = course.substitutes.get(admin.code, admin.code)
            drug = drugs.get(code)
            if (
                drug is not None
                and payer.requires_auth(code, drug.drug_class, course.start)
                and code not in codes
            ):
                codes.append(code)
    growth_factor = course.regimen.growth_factor != "none"
    if growth_factor and payer.requires_auth("J2506", DrugClass.GROWTH_FACTOR, course.start):
        codes.append("J2506")
    return codes


def _authorize(rng: random.Random, course: Course, schedule: list[tuple[dt.date, TreatmentDay, Decimal, int]],
               config: SimulationConfig) -> None:  # fmt: skip
    """Request the course's prior authorization, with the failure modes of oncology-billing.md 7."""
    codes = _auth_codes(course)
    if not codes or not schedule:
        return
    rates = config.authorizations
    modes = (("never_requested", rates.never_requested), ("pending_at_service", rates.pending_at_service),
             ("short_window", rates.short_window), ("units_short", rates.units_short),
             ("wrong_code", rates.wrong_code), ("wrong_number", rates.wrong_number))  # fmt: skip
    draw = rng.random()
    failure = None
    for mode, rate in modes:
        if draw < rate:
            failure = mode
            break
        draw -= rate
    course.auth_failure = failure
    if failure == "never_requested":
        return
    approved = list(codes)
    if failure == "wrong_code":
        drugs = load_drugs()
        swapped = [
            c for c in approved if drugs[c].biosimilar_of or course.regimen.biosimilar_substitutes.get(c)
        ]
        target = swapped[0] if swapped else approved[0]
        alternatives = course.regimen.biosimilar_substitutes.get(target, ()) or (
            (drugs[target].biosimilar_of,) if drugs[target].biosimilar_of else ("J9999",)
        )
        approved[approved.index(target)] = alternatives[0] or "J9999"
    first, last = schedule[0][0], schedule[-1][0]
    start = first - dt.timedelta(days=rng.randint(2, 10))
    window = 90 if failure == "short_window" else 180
    while True:
        end = start + dt.timedelta(days=window)
        planned = _planned_units(course, [entry for entry in schedule if start <= entry[0] <= end], codes)
        factor = Decimal("0.6") if failure == "units_short" and not course.authorizations else Decimal("1.15")
        pending = failure == "pending_at_service" and not course.authorizations
        decided = first + dt.timedelta(days=rng.randint(3, 20)) if pending else start
        course.authorizations.append(Authorization(
            number=f"PA{rng.randint(10**7, 10**8 - 1)}", payer_id=course.profile.payer.payer_id,
            member_id=course.profile.patient.member_id, approved_codes=approved,
            approved_units=max(Decimal(1), (planned * factor).quantize(Decimal(1))),
            start_date=start, end_date=end,
            status=AuthorizationStatus.PENDING if pending else AuthorizationStatus.APPROVED,
            requested_date=start - dt.timedelta(days=rng.randint(1, 7)), decided_date=decided,
        ))  # fmt: skip
        # Long courses need a renewal; the practice misses it after a short window, and now and then.
        if last <= end or failure == "short_window" or rng.random() < 0.05:
            return
        start, window = end + dt.timedelta(days=1), 180


def _planned_units(course: Course, entries: list[tuple[dt.date, TreatmentDay, Decimal, int]],
                   codes: list[str]) -> Decimal:  # fmt: skip
    planned = Decimal(0)
    drugs = load_drugs()
    for _, day, factor, cycle in entries:
        for admin in day.drugs:
            code = course.substitutes.get(admin.code, admin.code)
            if code in codes:
                dose = dose_of(admin.dose_in_cycle(cycle), course.profile, factor)
                planned += math.ceil(dose / drugs[code].billing_unit.amount)
        if "J2506" in codes and day is course.regimen.days[-1]:
            planned += 12  # pegfilgrastim 6 mg = 12 units of J2506 each cycle
    return planned


def _events(course: Course, admins: tuple[DrugAdministration, ...], cycle: int) -> list[InfusionEvent]:
    drugs = load_drugs()
    events = []
    for admin in admins:
        code = course.substitutes.get(admin.code, admin.code)
        drug = drugs[code]
        events.append(InfusionEvent(
            code=code, complex=drug.complex_administration, route=admin.route, minutes=admin.minutes_in_cycle(cycle),
            concurrent=admin.concurrent_with is not None, pump_hours=admin.pump_hours,
            hormonal=drug.drug_class is DrugClass.HORMONAL,
        ))  # fmt: skip
    return events


def _encounters(rng: random.Random, course: Course, date: dt.date, day: TreatmentDay, factor: Decimal, cycle: int,
                counter: int, config: SimulationConfig, medicare: PayerPolicy) -> list[Encounter]:  # fmt: skip
    """The claim for one treatment day (and the next-day growth-factor claim when the regimen has one)."""
    regimen = course.regimen
    premeds = load_premedications()
    admins: list[DrugAdministration] = []
    if day.premedications:
        admins.extend(premeds[day.premedications].drugs)
    admins.extend(day.drugs)
    onbody = regimen.growth_factor == "pegfilgrastim_onbody" and day is regimen.days[-1]
    encounters = [
        _claim_for(rng, course, date, admins, day, factor, cycle, counter, config, medicare, onbody)
    ]
    if regimen.growth_factor == "pegfilgrastim_next_day" and day is regimen.days[-1]:
        peg = DrugAdministration(
            code="J2506", dose=DoseRule(kind="flat", value=Decimal(6)), route="sc", minutes=0
        )
        next_day = date + dt.timedelta(days=1)
        if next_day <= config.end:
            encounters.append(_claim_for(rng, course, next_day, [peg], None, factor, cycle, counter, config,
                                         medicare, False, suffix="G"))  # fmt: skip
    return encounters


def _claim_for(rng: random.Random, course: Course, date: dt.date, admins: list[DrugAdministration],
               day: TreatmentDay | None, factor: Decimal, cycle: int, counter: int, config: SimulationConfig,
               medicare: PayerPolicy, onbody: bool, suffix: str = "") -> Encounter:  # fmt: skip
    profile = course.profile
    regimen = course.regimen
    office = profile.office
    billed_payer = profile.payer
    trial = profile.trial_number is not None
    if trial and billed_payer.trial_policy == "bill_medicare":
        billed_payer = medicare  # NCD 310.1: MA enrollees' trial routine costs go to the MAC
    events = _events(course, tuple(admins), cycle)
    if onbody:
        events.append(InfusionEvent(code="J2506", complex=False, route="sc"))
    pump_code = "G0498" if office and billed_payer.plan_type is PlanType.MEDICARE else "96416"
    hydration = day.hydration_minutes if day is not None else 0
    admin_lines = administration_codes(events, hydration_minutes=hydration, office_pump_code=pump_code)
    if onbody:  # the on-body injector is applied, not injected
        admin_lines = [AdminLine("96377", 1, ("J2506",)) if a.code == "96372" and "J2506" in a.drugs else a
                       for a in admin_lines]  # fmt: skip
    use_jz = config.jz_before_required > rng.random()
    rows: list[tuple[str, tuple[str, ...], Decimal, str, DrugLine | None]] = []
    if day is not None and day.visit:
        em = "G0463" if not office else rng.choices(("99213", "99214", "99215"), weights=(0.15, 0.6, 0.25))[0]
        rows.append((em, ("25",), Decimal(1), "0510", None))
    admin_table = load_admin_codes()
    for admin_line in admin_lines:
        known = admin_table.get(admin_line.code)
        revenue = (known.revenue_code if known is not None else None) or "0260"
        rows.append((admin_line.code, (), Decimal(admin_line.units), revenue, None))
    doses: dict[int, Decimal] = {}
    dose_by_code: dict[str, Decimal] = {}  # a drug given twice (5-FU bolus and pump) is one line
    given: list[DrugAdministration | None] = [*admins, *([None] if onbody else [])]
    for event, administration in zip(events, given, strict=True):
        dose = (
            Decimal(6)
            if administration is None
            else dose_of(administration.dose_in_cycle(cycle), profile, factor)
        )
        dose_by_code[event.code] = dose_by_code.get(event.code, Decimal(0)) + dose
    for code, dose in dose_by_code.items():
        for line in drug_lines(code, dose, date, use_jz_before_required=use_jz):
            rows.append((line.code, line.modifiers, Decimal(line.units), "0636", line))
    if hydration > 30:
        # Normal saline, about 500 mL an hour (J7050 is per 250 cc): a supply line with its NDC.
        saline = Decimal(max(250, hydration * 500 // 60))
        for line in drug_lines("J7050", saline, date):
            rows.append((line.code, line.modifiers, Decimal(line.units), "0258", line))
    if trial and day is not None and day.day == 1:
        rows.append(("J9999", ("Q0",), Decimal(1), "0636", None))
    diagnoses = ["Z51.12" if regimen.immunotherapy_only else "Z51.11", profile.diagnosis]
    if trial:
        diagnoses.append("Z00.6")
    claim_id = f"C{counter:07d}{suffix}"
    lines: list[ClaimLine] = []
    waste_lines: set[int] = set()
    for number, (code, modifiers, units, revenue, drug_line) in enumerate(rows, start=1):
        mods = list(modifiers)
        if trial and code != "J9999" and "Q1" not in mods:
            mods.append("Q1")
        charge = _CHARGE_J9999 if code == "J9999" else charge_of(code, units, date)
        ndc = ndc_quantity = None
        if drug_line is not None and drug_line.ndc is not None:
            ndc = drug_line.ndc
            ndc_quantity = _quantity(drug_line.ndc_vials) if drug_line.ndc_vials > 0 else _ONE
        if drug_line is not None and drug_line.waste:
            waste_lines.add(number)
        if drug_line is not None and not drug_line.waste:
            doses[number] = drug_line.dose
        pointers = ([2] if code in _EM_CODES else [1, 2]) if office else [1]
        lines.append(_LINE_BUILDERS[(office, ndc is not None, code == "J9999")]({
            "line_number": number, "procedure_code": code, "modifiers": mods, "units": units, "charge": charge,
            "service_date": date, "diagnosis_pointers": pointers, "revenue_code": None if office else revenue,
            "ndc": ndc, "ndc_quantity": ndc_quantity, "ndc_unit": None if ndc is None else NdcUnit.UNIT,
            "prior_authorization": None, "control_number": f"{claim_id}-{number}",
            "description": "INVESTIGATIONAL AGENT SPONSOR SUPPLIED" if code == "J9999" else None,
        }))  # fmt: skip
    submission = date + dt.timedelta(days=rng.randint(*config.submission_lag_days))
    auth = course.authorization_on(date)
    if auth is not None and auth.status is AuthorizationStatus.PENDING and auth.decided_date:
        submission = max(
            submission, auth.decided_date + dt.timedelta(days=rng.randint(0, 5))
        )  # held for the auth
    auth_number = None
    if auth is not None and billed_payer is profile.payer:
        auth_number = auth.number
        if course.auth_failure == "wrong_number":
            auth_number = auth.number[:-2] + f"{(int(auth.number[-2:]) + 37) % 100:02d}"
    rendering = ONCOLOGISTS[sum(map(ord, profile.patient.member_id)) % len(ONCOLOGISTS)]
    # Every value below comes from the simulator's own validated data: built without re-validation.
    claim = trusted(
        Claim,
        claim_id=claim_id,
        form=ClaimForm.PROFESSIONAL if office else ClaimForm.INSTITUTIONAL,
        payer=payer_of(billed_payer),
        patient=profile.patient,
        billing_provider=PRACTICE if office else HOSPITAL,
        rendering_provider=rendering,
        place_of_service="11" if office else None,
        type_of_bill=None if office else "0131",
        diagnoses=[diagnosis_of(c) for c in diagnoses],
        condition_codes=["30"] if trial and not office else [],
        clinical_trial_number=profile.trial_number,
        prior_authorization=auth_number,
        submission_date=submission,
        lines=lines,
    )
    return Encounter(
        course=course, claim=claim, doses=doses, waste_lines=waste_lines, billed_payer=billed_payer
    )
