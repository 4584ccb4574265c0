"""The clinical content of the practice simulator: cancers, regimens and premedications, as data.

Three packaged YAML files (``claims/simulate/data``) hold what the simulated practice treats and how:

* ``cancers.yaml``: the practice's case mix: billable ICD-10-CM codes, sex, age, and the regimens used;
* ``regimens.yaml``: drug schedules (HCPCS code, dose rule, route, minutes, concurrent and pump
  infusions, hydration, premedication bundle, growth factor) per day of a cycle;
* ``premedications.yaml``: the antiemetic and hypersensitivity bundles a treatment day refers to.

Doses and durations are realistic simulator defaults (public labels and common NCCN regimens, as in
oncology-billing.md section 1), **not clinical rules**. A :class:`DoseRule` value is in the drug's billing
measure (``drugs.csv`` ``unit_measure``): milligrams for an ``MG`` code, micrograms for palonosetron
(``J2469``, ``MCG``), per m2 or per kg for ``bsa`` and ``weight`` rules.

The loaders validate the files against the schema below and against the reference tables (every drug
code is in :func:`claims.reference.load_drugs`, every ICD-10-CM code is billable, every regimen and
bundle a file names exists); on bad data they raise :class:`ClinicalDataError` naming the file and the
path inside it, e.g. ``regimens.yaml: regimens[3].days[0].drugs[1].code: J9999 is not in the drug table``.

>>> regimen = load_regimens()["carbo_pem_pembro"]
>>> [(d.code, d.minutes) for d in regimen.days[0].drugs]
[('J9271', 30), ('J9305', 10), ('J9045', 30)]
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from decimal import Decimal
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from claims.codes import icd10_status
from claims.enums import DrugClass
from claims.errors import DomainValueError
from claims.reference.drugs import Drug, Route, load_drugs

__all__ = [
    "CALVERT_MAX_CRCL",
    "Cancer",
    "ClinicalDataError",
    "DoseRule",
    "DrugAdministration",
    "PremedicationBundle",
    "Regimen",
    "TreatmentDay",
    "load_cancers",
    "load_premedications",
    "load_regimens",
    "read_cancers",
    "read_premedications",
    "read_regimens",
]

#: Creatinine clearance cap in the Calvert formula (FDA 2010 carboplatin dosing communication: use at most
#: 125 mL/min, so the largest dose is AUC x 150 mg).
CALVERT_MAX_CRCL = Decimal(125)
#: A push lasts at most 15 minutes; anything longer is an infusion (oncology-billing.md 2.2 item 5).
PUSH_MAX_MINUTES = 15
#: Tolerance of the "weights sum to 1" checks.
WEIGHT_TOLERANCE = 1e-9

_IV_ROUTES = frozenset({"iv_infusion", "iv_push"})
_ROUTE_FAMILY = {"iv_infusion": Route.IV, "iv_push": Route.IV, "sc": Route.SC, "im": Route.IM}
_M = TypeVar("_M", bound=BaseModel)


class ClinicalDataError(DomainValueError):
    """A clinical data file is malformed; the message names the file and the field path inside it."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DoseRule(_Frozen):
    """How much of a drug one administration gives, in the drug's billing measure.

    ``bsa``: value per m2 of body surface area; ``weight``: value per kg; ``auc``: Calvert formula,
    dose mg = AUC x (CrCl + 25) (carboplatin only); ``flat``: a fixed amount. ``cap`` is the largest dose
    (vincristine 2 mg, enfortumab vedotin 125 mg).

    >>> DoseRule(kind="bsa", value=Decimal("1.4"), cap=Decimal(2)).amount(
    ...     bsa_m2=Decimal(2), weight_kg=Decimal(80), crcl_ml_min=Decimal(100))
    Decimal('2')
    """

    kind: Literal["bsa", "weight", "auc", "flat"]
    value: Decimal = Field(gt=0)
    cap: Decimal | None = Field(default=None, gt=0)

    def amount(self, *, bsa_m2: Decimal, weight_kg: Decimal, crcl_ml_min: Decimal) -> Decimal:
        """The dose for one patient, before rounding to billing units (CrCl capped at 125 for ``auc``)."""
        if self.kind == "bsa":
            dose = self.value * bsa_m2
        elif self.kind == "weight":
            dose = self.value * weight_kg
        elif self.kind == "auc":
            dose = self.value * (min(crcl_ml_min, CALVERT_MAX_CRCL) + 25)
        else:
            dose = self.value
        return dose if self.cap is None else min(dose, self.cap)


def _check_minutes(route: str | None, minutes: int) -> int:
    if route == "iv_push" and not 1 <= minutes <= PUSH_MAX_MINUTES:
        raise ValueError(f"an IV push lasts 1 to {PUSH_MAX_MINUTES} minutes, found {minutes}")
    if route == "iv_infusion" and minutes <= PUSH_MAX_MINUTES:
        raise ValueError(f"an IV infusion lasts more than {PUSH_MAX_MINUTES} minutes, found {minutes}")
    if route in {"sc", "im"} and minutes != 0:
        raise ValueError(f"an SC/IM injection has 0 minutes, found {minutes}")
    return minutes


class DrugAdministration(_Frozen):
    """One drug given on a treatment day.

    ``minutes`` is the infusion or push duration (SC/IM: 0). A drug run by portable pump for
    ``pump_hours`` (46-h 5-FU: 96416 or G0498) has ``minutes == pump_hours * 60``. ``concurrent_with``
    names the code this non-chemotherapy drug runs alongside (leucovorin with oxaliplatin: 96368).
    ``first_cycle_dose`` / ``first_cycle_minutes`` replace ``dose`` / ``minutes`` in cycle 1 (trastuzumab
    8 mg/kg loading dose over 90 min; rituximab's slower first infusion).
    """

    code: str
    dose: DoseRule
    route: Literal["iv_infusion", "iv_push", "sc", "im"]
    minutes: int = Field(ge=0)
    pump_hours: int | None = None
    concurrent_with: str | None = None
    first_cycle_dose: DoseRule | None = None
    first_cycle_minutes: int | None = None

    @field_validator("minutes", "first_cycle_minutes")
    @classmethod
    def _minutes_fit_route(cls, minutes: int | None, info: ValidationInfo) -> int | None:
        return None if minutes is None else _check_minutes(info.data.get("route"), minutes)

    @field_validator("pump_hours")
    @classmethod
    def _pump(cls, hours: int | None, info: ValidationInfo) -> int | None:
        if hours is None:
            return None
        if info.data.get("route") != "iv_infusion":
            raise ValueError("only an IV infusion runs by pump")
        if hours <= 8:
            raise ValueError(f"a pump infusion (96416) runs more than 8 hours, found {hours}")
        if info.data.get("minutes") != hours * 60:
            raise ValueError(f"minutes must equal pump_hours x 60 = {hours * 60}")
        return hours

    @field_validator("concurrent_with")
    @classmethod
    def _not_itself(cls, code: str | None, info: ValidationInfo) -> str | None:
        if code is not None and code == info.data.get("code"):
            raise ValueError("a drug cannot run concurrently with itself")
        return code

    def dose_in_cycle(self, cycle: int) -> DoseRule:
        """The dose rule of 1-based ``cycle`` (the loading dose in cycle 1 when there is one)."""
        return self.first_cycle_dose if cycle == 1 and self.first_cycle_dose is not None else self.dose

    def minutes_in_cycle(self, cycle: int) -> int:
        """The duration in 1-based ``cycle`` (the first-infusion duration in cycle 1 when there is one)."""
        return (
            self.first_cycle_minutes if cycle == 1 and self.first_cycle_minutes is not None else self.minutes
        )


class TreatmentDay(_Frozen):
    """The drugs of one day of a cycle, in the order given, with premedications and hydration.

    ``premedications`` is a bundle key in ``premedications.yaml`` (given before the drugs);
    ``hydration_minutes`` is sequential IV hydration after the drugs (0 = none); ``visit`` marks a
    separately identifiable E/M visit that day (modifier 25).
    """

    day: int = Field(ge=1)
    drugs: tuple[DrugAdministration, ...] = Field(min_length=1)
    premedications: str | None = None
    hydration_minutes: int = Field(default=0, ge=0)
    visit: bool = False


class Regimen(_Frozen):
    """A treatment regimen: the days of one cycle, repeated every ``cycle_days`` for a number of cycles.

    ``immunotherapy_only`` makes Z51.12 (not Z51.11) the first-listed diagnosis. ``biosimilar_substitutes``
    maps a reference product's code to the biosimilar codes a payer may prefer. ``followed_by`` names the
    regimen a patient continues with after the last cycle (AC then weekly paclitaxel, ipilimumab +
    nivolumab then nivolumab), ``None`` when treatment ends.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    cycle_days: int = Field(ge=1)
    cycles_min: int = Field(ge=1)
    cycles_max: int = Field(ge=1)
    days: tuple[TreatmentDay, ...] = Field(min_length=1)
    immunotherapy_only: bool
    growth_factor: Literal["none", "pegfilgrastim_next_day", "pegfilgrastim_onbody"] = "none"
    emetic_risk: Literal["high", "moderate", "low", "minimal"]
    biosimilar_substitutes: dict[str, tuple[str, ...]] = {}
    followed_by: str | None = None

    @field_validator("cycles_max")
    @classmethod
    def _cycles(cls, cycles_max: int, info: ValidationInfo) -> int:
        cycles_min = info.data.get("cycles_min")
        if cycles_min is not None and cycles_max < cycles_min:
            raise ValueError(f"cycles_max {cycles_max} is below cycles_min {cycles_min}")
        return cycles_max

    @field_validator("days")
    @classmethod
    def _days_in_cycle(cls, days: tuple[TreatmentDay, ...], info: ValidationInfo) -> tuple[TreatmentDay, ...]:
        numbers = [d.day for d in days]
        if numbers != sorted(set(numbers)):
            raise ValueError(f"day numbers must increase strictly, found {numbers}")
        cycle_days = info.data.get("cycle_days")
        if cycle_days is not None and numbers[-1] > cycle_days:
            raise ValueError(f"day {numbers[-1]} lies outside the {cycle_days}-day cycle")
        return days

    def codes(self) -> tuple[str, ...]:
        """The regimen's drug codes (premedications excluded), in first-given order, without repeats."""
        return tuple(dict.fromkeys(d.code for day in self.days for d in day.drugs))


def _weights_sum_to_one(pairs: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    if any(w <= 0 for _, w in pairs):
        raise ValueError("every weight must be positive")
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate entries")
    total = math.fsum(w for _, w in pairs)
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise ValueError(f"weights sum to {total:.6g}, expected 1")
    return pairs


class Cancer(_Frozen):
    """One cancer of the practice's case mix.

    ``share`` is its share of the practice's patients (all shares sum to 1); ``icd10`` lists billable
    ICD-10-CM codes (dotted) with weights summing to 1; ``sex`` is ``None`` when both sexes occur, and then
    ``male_share`` is the share of male patients (breast 0.01, bladder 0.77); ``regimens`` maps regimen ids
    to weights summing to 1. Draw a patient's sex with :attr:`male_fraction` and the diagnosis from
    :meth:`icd10_for`, so that a man never gets a female-breast code.
    """

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    share: float = Field(gt=0, le=1)
    icd10: tuple[tuple[str, float], ...] = Field(min_length=1)
    sex: Literal["F", "M"] | None = None
    male_share: float | None = Field(default=None, ge=0, le=1)
    age_mean: float = Field(gt=0, lt=110)
    age_sd: float = Field(gt=0)
    regimens: tuple[tuple[str, float], ...] = Field(min_length=1)

    _weights = field_validator("icd10", "regimens")(_weights_sum_to_one)

    @field_validator("male_share")
    @classmethod
    def _share_needs_both_sexes(cls, share: float | None, info: ValidationInfo) -> float | None:
        if share is not None and info.data.get("sex") is not None:
            raise ValueError("male_share applies only when sex is null (both sexes)")
        return share

    @property
    def male_fraction(self) -> float:
        """The share of male patients: 1 or 0 for a single-sex cancer, else ``male_share`` (default 0.5)."""
        if self.sex is not None:
            return 1.0 if self.sex == "M" else 0.0
        return 0.5 if self.male_share is None else self.male_share

    def icd10_for(self, sex: Literal["F", "M"]) -> tuple[tuple[str, float], ...]:
        """The diagnosis codes that fit a patient's sex, re-weighted to sum to 1.

        Breast codes name the sex in their fifth character (C50.x1x female, C50.x2x male); other codes fit
        both. Empty when no code fits.

        >>> [c for c, _ in load_cancers()["breast"].icd10_for("M")]
        ['C50.921']
        """
        fitting = [(c, w) for c, w in self.icd10 if _code_sex(c) in {None, sex}]
        total = math.fsum(w for _, w in fitting)
        return tuple((c, w / total) for c, w in fitting)


def _code_sex(code: str) -> str | None:
    if code.startswith("C50.") and len(code) == 7:
        return {"1": "F", "2": "M"}.get(code[5])
    return None


class PremedicationBundle(_Frozen):
    """Drugs given before the regimen's drugs (antiemetics, hypersensitivity prophylaxis), in order."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    drugs: tuple[DrugAdministration, ...] = Field(min_length=1)


class _RegimenFile(_Frozen):
    regimens: tuple[Regimen, ...] = Field(min_length=1)


class _CancerFile(_Frozen):
    cancers: tuple[Cancer, ...] = Field(min_length=1)


class _PremedicationFile(_Frozen):
    premedications: tuple[PremedicationBundle, ...] = Field(min_length=1)


# ---------------------------------------------------------------------------------------------------------
# Readers


def read_premedications(
    path: Traversable | Path, *, drugs: Mapping[str, Drug] | None = None
) -> Mapping[str, PremedicationBundle]:
    """Read and validate a premedication file: bundle key -> :class:`PremedicationBundle`."""
    name, parsed = _parse(path, _PremedicationFile)
    drug_table = load_drugs() if drugs is None else drugs
    bundles: dict[str, PremedicationBundle] = {}
    for i, bundle in enumerate(parsed.premedications):
        where = f"premedications[{i}]"
        if bundle.key in bundles:
            raise ClinicalDataError(f"{where}.key", f"duplicate key {bundle.key!r}", source=name)
        for j, given in enumerate(bundle.drugs):
            drug = _check_administration(given, drug_table, f"{where}.drugs[{j}]", name)
            if drug.complex_administration:
                raise ClinicalDataError(
                    f"{where}.drugs[{j}].code",
                    f"{given.code} is a chemotherapy/complex drug, not a premedication",
                    source=name,
                )
        bundles[bundle.key] = bundle
    return MappingProxyType(bundles)


def read_regimens(
    path: Traversable | Path,
    *,
    drugs: Mapping[str, Drug] | None = None,
    premedications: Collection[str] | None = None,
) -> Mapping[str, Regimen]:
    """Read and validate a regimen file: regimen id -> :class:`Regimen`.

    Codes are checked against ``drugs`` (default: the packaged drug table) and bundle keys against
    ``premedications`` (default: the packaged ``premedications.yaml``).
    """
    name, parsed = _parse(path, _RegimenFile)
    drug_table = load_drugs() if drugs is None else drugs
    bundle_keys = load_premedications().keys() if premedications is None else premedications
    regimens: dict[str, Regimen] = {}
    for i, regimen in enumerate(parsed.regimens):
        where = f"regimens[{i}]"
        if regimen.id in regimens:
            raise ClinicalDataError(f"{where}.id", f"duplicate id {regimen.id!r}", source=name)
        _check_regimen(regimen, drug_table, bundle_keys, where, name)
        regimens[regimen.id] = regimen
    for i, regimen in enumerate(parsed.regimens):
        if regimen.followed_by is not None and (
            regimen.followed_by not in regimens or regimen.followed_by == regimen.id
        ):
            raise ClinicalDataError(
                f"regimens[{i}].followed_by",
                f"{regimen.followed_by!r} is not another regimen in this file",
                source=name,
            )
    return MappingProxyType(regimens)


def read_cancers(
    path: Traversable | Path, *, regimens: Collection[str] | None = None
) -> Mapping[str, Cancer]:
    """Read and validate a cancer file: cancer key -> :class:`Cancer`.

    Every ICD-10-CM code must be billable and every regimen id must be in ``regimens`` (default: the
    packaged ``regimens.yaml``); the shares of all cancers sum to 1.
    """
    name, parsed = _parse(path, _CancerFile)
    regimen_ids = load_regimens().keys() if regimens is None else regimens
    cancers: dict[str, Cancer] = {}
    for i, cancer in enumerate(parsed.cancers):
        where = f"cancers[{i}]"
        if cancer.key in cancers:
            raise ClinicalDataError(f"{where}.key", f"duplicate key {cancer.key!r}", source=name)
        for j, (code, _) in enumerate(cancer.icd10):
            status = icd10_status(code)
            if status != "billable" or ("." not in code and len(code) > 3):
                found = "not dotted" if status == "billable" else status
                raise ClinicalDataError(
                    f"{where}.icd10[{j}]",
                    f"{code} is not a billable dotted ICD-10-CM code ({found})",
                    source=name,
                )
            code_sex = _code_sex(code)
            if cancer.sex is not None and code_sex not in {None, cancer.sex}:
                raise ClinicalDataError(
                    f"{where}.icd10[{j}]",
                    f"{code} is a sex-{code_sex} code in a sex-{cancer.sex} cancer",
                    source=name,
                )
        for j, (regimen_id, _) in enumerate(cancer.regimens):
            if regimen_id not in regimen_ids:
                raise ClinicalDataError(
                    f"{where}.regimens[{j}]", f"{regimen_id!r} is not a regimen in regimens.yaml", source=name
                )
        cancers[cancer.key] = cancer
    total = math.fsum(c.share for c in cancers.values())
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise ClinicalDataError("cancers[*].share", f"shares sum to {total:.6g}, expected 1", source=name)
    return MappingProxyType(cancers)


@cache
def load_premedications() -> Mapping[str, PremedicationBundle]:
    """The packaged premedication bundles (``claims/simulate/data/premedications.yaml``).

    >>> [d.code for d in load_premedications()["high_emetic"].drugs]
    ['J1100', 'J2469', 'J1453']
    """
    return read_premedications(_data_file("premedications.yaml"))


@cache
def load_regimens() -> Mapping[str, Regimen]:
    """The packaged regimens (``claims/simulate/data/regimens.yaml``), keyed by id."""
    return read_regimens(_data_file("regimens.yaml"))


@cache
def load_cancers() -> Mapping[str, Cancer]:
    """The packaged case mix (``claims/simulate/data/cancers.yaml``), keyed by cancer key."""
    return read_cancers(_data_file("cancers.yaml"))


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _data_file(name: str) -> Traversable:
    return files("claims.simulate") / "data" / name


def _parse(path: Traversable | Path, model: type[_M]) -> tuple[str, _M]:
    name = path.name
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ClinicalDataError("(file)", f"cannot be read ({e.strerror or e})", source=name) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        problem = getattr(e, "problem", None) or str(e).replace("\n", " ")
        raise ClinicalDataError(where, f"not valid YAML ({problem})", source=name) from e
    try:
        return name, model.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        found = first.get("input")
        # Our own validators already say what they found; pydantic's type errors do not.
        if first["type"] not in {"missing", "extra_forbidden", "value_error"} and not isinstance(
            found, dict | list
        ):
            message += f" (found {found!r})"
        raise ClinicalDataError(_field_path(first["loc"]) or "(top level)", message, source=name) from e


def _field_path(loc: tuple[int | str, ...]) -> str:
    """Pydantic's ``('regimens', 3, 'days', 0, 'code')`` -> ``regimens[3].days[0].code``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _check_administration(
    given: DrugAdministration, drugs: Mapping[str, Drug], where: str, name: str
) -> Drug:
    drug = drugs.get(given.code)
    if drug is None:
        raise ClinicalDataError(f"{where}.code", f"{given.code} is not in the drug table", source=name)
    if _ROUTE_FAMILY[given.route] not in drug.routes:
        routes = ", ".join(drug.routes)
        raise ClinicalDataError(
            f"{where}.route",
            f"{given.code} is not given {given.route} (drug table routes: {routes})",
            source=name,
        )
    for field, rule in (("dose", given.dose), ("first_cycle_dose", given.first_cycle_dose)):
        if rule is not None and rule.kind == "auc" and given.code != "J9045":
            raise ClinicalDataError(
                f"{where}.{field}.kind", "an AUC (Calvert) dose is for carboplatin J9045 only", source=name
            )
    return drug


def _check_regimen(
    regimen: Regimen, drugs: Mapping[str, Drug], bundle_keys: Collection[str], where: str, name: str
) -> None:
    classes: set[DrugClass] = set()
    for d, day in enumerate(regimen.days):
        day_where = f"{where}.days[{d}]"
        if day.premedications is not None and day.premedications not in bundle_keys:
            raise ClinicalDataError(
                f"{day_where}.premedications",
                f"{day.premedications!r} is not a bundle in premedications.yaml",
                source=name,
            )
        codes_today = [g.code for g in day.drugs]
        for j, given in enumerate(day.drugs):
            drug = _check_administration(given, drugs, f"{day_where}.drugs[{j}]", name)
            classes.add(drug.drug_class)
            if given.concurrent_with is not None:
                if given.concurrent_with not in codes_today:
                    raise ClinicalDataError(
                        f"{day_where}.drugs[{j}].concurrent_with",
                        f"{given.concurrent_with} is not given on day {day.day}",
                        source=name,
                    )
                if given.route != "iv_infusion" or drug.complex_administration:
                    raise ClinicalDataError(
                        f"{day_where}.drugs[{j}].concurrent_with",
                        "only a non-chemotherapy IV infusion runs concurrently (96368)",
                        source=name,
                    )
    if regimen.immunotherapy_only != (classes == {DrugClass.IMMUNOTHERAPY}):
        raise ClinicalDataError(
            f"{where}.immunotherapy_only",
            f"must be {not regimen.immunotherapy_only} for drug classes {sorted(classes)}",
            source=name,
        )
    used = set(regimen.codes())
    for reference, substitutes in regimen.biosimilar_substitutes.items():
        if reference not in used:
            raise ClinicalDataError(
                f"{where}.biosimilar_substitutes.{reference}",
                f"{reference} is not given in this regimen",
                source=name,
            )
        for k, code in enumerate(substitutes):
            biosimilar = drugs.get(code)
            if biosimilar is None or biosimilar.biosimilar_of != reference:
                raise ClinicalDataError(
                    f"{where}.biosimilar_substitutes.{reference}[{k}]",
                    f"{code} is not a biosimilar of {reference} in the drug table",
                    source=name,
                )
