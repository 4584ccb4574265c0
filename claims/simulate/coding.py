"""Correct coding of one treatment day: administration codes from the infusion events, drug lines from
doses, vials and waste.

Administration follows oncology-billing.md 2.2: one initial code per encounter, chosen by hierarchy
(chemo/complex infusion > chemo push > therapeutic infusion > therapeutic push > hydration; the first
such event given when several share a rank); each further chemo infusion of a different drug is 96417,
each further chemo push 96411, each new non-chemo infusion 96367, each new non-chemo push 96375, a
concurrent non-chemo infusion 96368 (once), additional hours (96415 / 96366 / 96361) when the infusion
runs more than 30 minutes past the last full hour, sequential hydration over 30 minutes 96361, a prolonged
pump infusion 96416 (G0498 for Medicare in the office), SC/IM injections 96401/96402 (complex) or 96372.

Drug lines follow section 3: units are HCPCS billing units of the administered dose, rounded up to whole
units; vials are chosen from the drug's real sizes with the least waste; a single-dose container with
waste of at least one billing unit gets a separate JW line for the discarded units (the administered line
carries neither modifier), a single-dose container without waste gets JZ, a multiple-dose container
neither (JZ required from 2023-07-01; before that the modifier was optional).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from claims.enums import ContainerType, DrugClass
from claims.reference import load_drugs, ndcs_for_hcpcs
from claims.reference.modifiers import JZ_REQUIRED_FROM

__all__ = [
    "AdminLine",
    "DrugLine",
    "InfusionEvent",
    "additional_hours",
    "administration_codes",
    "choose_vials",
    "drug_lines",
]


@dataclass(frozen=True, slots=True)
class InfusionEvent:
    """One drug given during the encounter, in the order given."""

    code: str
    complex: bool  # chemotherapy or complex biologic: 964xx codes
    route: str  # iv_infusion | iv_push | sc | im
    minutes: int = 0
    concurrent: bool = False
    pump_hours: int | None = None
    hormonal: bool = False

    @property
    def is_push(self) -> bool:
        """A push is given over 15 minutes or less (oncology-billing.md 2.2 item 5)."""
        return self.route == "iv_push" or (self.route == "iv_infusion" and self.minutes <= 15)

    @property
    def is_iv(self) -> bool:
        return self.route in ("iv_infusion", "iv_push")


@dataclass(frozen=True, slots=True)
class AdminLine:
    """An administration code with its units and the drugs it was billed for."""

    code: str
    units: int
    drugs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DrugLine:
    """A drug line: HCPCS, billing units, modifiers, NDC and its quantity (number of packages)."""

    code: str
    units: int
    modifiers: tuple[str, ...]
    ndc: str | None
    ndc_vials: int
    dose: Decimal
    waste: bool = False


def additional_hours(minutes: int) -> int:
    """Additional-hour units for an infusion of ``minutes``: each hour past the first counts when more than
    30 minutes of it are used (1 h 30 min = initial only; 1 h 31 min = initial + 1).

    >>> [additional_hours(m) for m in (60, 90, 91, 120, 150, 151)]
    [0, 0, 1, 1, 1, 2]
    """
    return 0 if minutes <= 90 else (minutes - 91) // 60 + 1


def _hydration_units(minutes: int) -> int:
    """Hours of sequential hydration after another initial service (96361): a partial hour counts past 30 min."""
    if minutes <= 30:
        return 0
    return minutes // 60 + (1 if minutes % 60 > 30 else 0)


def _rank(event: InfusionEvent) -> int:
    if event.complex:
        return 2 if event.is_push else 1
    return 4 if event.is_push else 3


def administration_codes(
    events: Sequence[InfusionEvent], *, hydration_minutes: int = 0, office_pump_code: str = "96416"
) -> list[AdminLine]:
    """Administration codes for one encounter, aggregated by code in first-billed order.

    >>> pembro = InfusionEvent("J9271", True, "iv_infusion", 30)
    >>> [(a.code, a.units) for a in administration_codes([pembro])]
    [('96413', 1)]
    """
    lines: dict[str, list[str]] = {}
    order: list[str] = []

    def bill(code: str, drug: str, units: int = 1) -> None:
        if units <= 0:
            return
        if code not in lines:
            lines[code] = []
            order.append(code)
        lines[code].extend([drug] * units)

    iv = [e for e in events if e.is_iv and not e.concurrent and e.pump_hours is None]
    initial = min(iv, key=_rank) if iv else None  # min() keeps the first given among equal ranks
    seen_push: set[str] = set()
    for event in events:
        if event.pump_hours is not None:
            bill(office_pump_code if event.pump_hours > 8 else "96413", event.code)
            continue
        if not event.is_iv:
            if event.complex:
                bill("96402" if event.hormonal else "96401", event.code)
            else:
                bill("96372", event.code)
            continue
        if event.concurrent:
            if "96368" not in lines:
                bill("96368", event.code)
            continue
        first = event is initial
        if event.complex and not event.is_push:
            bill("96413" if first else "96417", event.code)
            bill("96415", event.code, additional_hours(event.minutes))
        elif event.complex:
            bill("96409" if first else "96411", event.code)
        elif not event.is_push:
            bill("96365" if first else "96367", event.code)
            bill("96366", event.code, additional_hours(event.minutes))
        else:
            if event.code in seen_push and not first:
                continue  # the same push drug again is 96376 (facility only); not generated
            seen_push.add(event.code)
            bill("96374" if first else "96375", event.code)
    if hydration_minutes > 30:
        if initial is None:
            bill("96360", "hydration")
            bill("96361", "hydration", additional_hours(hydration_minutes))
        else:
            bill("96361", "hydration", _hydration_units(hydration_minutes))
    # The initial service first, then chemo add-ons, non-chemo services, hydration and injections, each
    # group in the order given.
    initial_codes = {"96413", "96409", "96365", "96374", "96360"}
    group = {
        "96415": 1,
        "96417": 1,
        "96411": 1,
        "96416": 1,
        "G0498": 1,
        "96361": 3,
        "96372": 4,
        "96401": 4,
        "96402": 4,
    }
    order.sort(key=lambda code: 0 if code in initial_codes else group.get(code, 2))
    return [AdminLine(code, len(lines[code]), tuple(dict.fromkeys(lines[code]))) for code in order]


@cache
def choose_vials(sizes_in_units: tuple[int, ...], units: int) -> tuple[int, ...]:
    """The vials (in billing units) that cover ``units`` with the least waste, then the fewest vials.

    >>> choose_vials((10, 50), 95)   # pemetrexed 950 mg from 100 mg and 500 mg vials
    (50, 50)
    >>> choose_vials((10, 50), 60)
    (50, 10)
    """
    sizes = sorted({s for s in sizes_in_units if s > 0}, reverse=True)
    if not sizes:
        return (units,)
    limit = units + max(sizes)
    best_count = [math.inf] * (limit + 1)
    best_last = [0] * (limit + 1)
    best_count[0] = 0
    for total in range(1, limit + 1):
        for size in sizes:
            if size <= total and best_count[total - size] + 1 < best_count[total]:
                best_count[total] = best_count[total - size] + 1
                best_last[total] = size
    for total in range(units, limit + 1):
        if best_count[total] < math.inf:
            vials: list[int] = []
            while total:
                vials.append(best_last[total])
                total -= vials[-1]
            return tuple(sorted(vials, reverse=True))
    return (units,)  # pragma: no cover - unreachable: limit always admits one more largest vial


@cache
def _ndc_for(code: str, vial_units: int) -> str | None:
    packages = ndcs_for_hcpcs(code)
    for package in packages:
        if package.billing_units_per_item == vial_units or package.billing_units_per_package == vial_units:
            return package.ndc
    return packages[0].ndc if packages else None


def drug_lines(
    code: str, dose: Decimal, service_date: dt.date, *, use_jz_before_required: bool = True
) -> list[DrugLine]:
    """Drug line(s) for ``dose`` (in the drug's billing measure) of HCPCS ``code`` given on ``service_date``.

    >>> [(d.code, d.units, d.modifiers) for d in drug_lines("J9305", Decimal(950), dt.date(2026, 2, 3))]
    [('J9305', 95, ()), ('J9305', 5, ('JW',))]
    """
    unit, multiple_dose = _packaging(code)
    administered = max(1, math.ceil(dose / unit))
    vials, ndc = _vials(code, administered)
    if multiple_dose:
        return [DrugLine(code, administered, (), ndc, len(vials), dose)]
    waste = sum(vials) - administered
    jz_expected = service_date >= JZ_REQUIRED_FROM or use_jz_before_required
    if waste >= 1:
        return [
            DrugLine(code, administered, (), ndc, len(vials), dose),
            DrugLine(code, waste, ("JW",), ndc, 0, Decimal(0), waste=True),
        ]
    return [DrugLine(code, administered, ("JZ",) if jz_expected else (), ndc, len(vials), dose)]


@cache
def _packaging(code: str) -> tuple[Decimal, bool]:
    """The drug's billing unit, and whether its lines carry no waste (multiple-dose container, hydration)."""
    drug = load_drugs()[code]
    multiple = drug.container is ContainerType.MULTIPLE_DOSE or drug.drug_class is DrugClass.HYDRATION
    return drug.billing_unit.amount, multiple


@cache
def _vials(code: str, administered: int) -> tuple[tuple[int, ...], str | None]:
    """The vials (in billing units) that give ``administered`` units of ``code``, and the line's NDC."""
    drug = load_drugs()[code]
    unit = drug.billing_unit.amount
    sizes = tuple(int(s / unit) for s in drug.vial_sizes if s >= unit and (s / unit) == int(s / unit))
    vials = choose_vials(sizes, administered) if sizes else (administered,)
    return vials, _ndc_for(code, vials[0]) if sizes else _ndc_for(code, administered)
