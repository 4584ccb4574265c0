"""The oncology drug table (``drugs.csv``) and Medicare Part B payment limits (``payment_limits.csv``).

A drug line on a claim reports HCPCS *billing units*, not milligrams: J9271 is "pembrolizumab, 1 mg", so a
200 mg dose is 200 units; J2506 is per 0.5 mg, so a 6 mg syringe is 12 units. :class:`BillingUnit` holds
that descriptor, and :func:`payment_limit` prices one billing unit on a date.

Payment limits are published quarterly by CMS; we carry four quarters (2024Q1, 2024Q4, 2025Q4, 2026Q1).
For any other quarter :func:`payment_limit` returns an *estimate* (linear interpolation by quarter index
between the nearest published quarters, or the nearest published quarter outside their span);
:func:`payment_limit_is_published` tells the two apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from claims.enums import ContainerType, DrugClass
from claims.reference.datafile import DataTable, Row, data_file, read_table

__all__ = [
    "BillingUnit",
    "Drug",
    "MeasureUnit",
    "PaymentLimit",
    "Route",
    "load_drugs",
    "load_payment_limits",
    "payment_limit",
    "payment_limit_is_published",
    "quarter_of",
    "read_drugs",
    "read_payment_limits",
]

#: Payment limits are published to three decimals (dollars per billing unit); estimates use the same.
LIMIT_PRECISION = Decimal("0.001")


class MeasureUnit(StrEnum):
    """The measure of a HCPCS dosage descriptor (``0.5 MG`` -> MG)."""

    MG = "MG"
    MCG = "MCG"
    UNITS = "UNITS"
    ML = "ML"
    CC = "CC"


class Route(StrEnum):
    """How a drug is given; decides the administration code family (IV 964xx/963xx vs SC/IM 96401/96372)."""

    IV = "iv"
    SC = "sc"
    IM = "im"


@dataclass(frozen=True, slots=True)
class BillingUnit:
    """The HCPCS dosage descriptor: one billing unit is ``amount`` of ``unit`` (J2506: 0.5 MG).

    ``descriptor`` is the text as CMS publishes it (``3 mg/1 mg`` for J9298, whose amount counts the
    nivolumab milligrams).
    """

    amount: Decimal
    unit: MeasureUnit
    descriptor: str

    def units_for(self, dose: Decimal) -> Decimal:
        """Billing units for a dose in this unit's measure, before rounding: 6 mg of J2506 -> 12.

        >>> BillingUnit(Decimal("0.5"), MeasureUnit.MG, "0.5 MG").units_for(Decimal(6))
        Decimal('12')
        """
        return dose / self.amount


@dataclass(frozen=True, slots=True)
class PaymentLimit:
    """One quarter's Medicare Part B payment limit for one code (dollars per billing unit).

    ``payment_limit`` is ``None`` when the code is absent from that quarter's CMS file;
    ``coinsurance_pct`` is below 20 when the IRA inflation-adjusted coinsurance applied.
    """

    code: str
    quarter: str
    effective_from: dt.date
    effective_to: dt.date
    billing_unit: str
    payment_limit: Decimal | None
    coinsurance_pct: Decimal | None
    note: str


@dataclass(frozen=True, slots=True)
class Drug:
    """A HCPCS drug code as used in outpatient oncology (one row of ``drugs.csv``).

    ``complex_administration`` is true when the drug is given with the chemotherapy/complex-biologic
    administration codes (964xx); ``container`` drives JW/JZ (single-dose only); ``vial_sizes`` are the
    common package amounts in the billing unit's measure; ``icd10_families`` are undotted ICD-10 prefixes
    (``C34``, ``C221``), empty when any cancer diagnosis fits; ``biosimilar_of`` is the reference product's
    code for a biosimilar. ``payment_limits`` lists the published quarters, oldest first.
    """

    code: str
    name: str
    billing_unit: BillingUnit
    drug_class: DrugClass
    complex_administration: bool
    container: ContainerType
    container_note: str
    vial_sizes: tuple[Decimal, ...]
    routes: tuple[Route, ...]
    biosimilar_of: str | None
    opps_status: str
    prior_auth: str
    icd10_families: tuple[str, ...]
    dx_text: str
    dose_rule: str
    payment_limits: tuple[PaymentLimit, ...]

    @property
    def is_biosimilar(self) -> bool:
        """True for a biosimilar Q-code (it names its reference product)."""
        return self.biosimilar_of is not None

    @property
    def needs_waste_modifier(self) -> bool:
        """True when a line of this drug needs JW or JZ (single-dose container; CMS: JZ from 2023-07-01)."""
        return self.container is ContainerType.SINGLE_DOSE


_DRUG_COLUMNS = (
    "code", "name", "billing_unit", "unit_amount", "unit_measure", "drug_class", "complex_administration",
    "container", "container_note", "vial_sizes", "routes", "biosimilar_of", "opps_si", "prior_auth",
    "icd10_families", "dx_text", "dose_rule",
)  # fmt: skip
_LIMIT_COLUMNS = (
    "code", "quarter", "effective_from", "effective_to", "billing_unit", "payment_limit", "coinsurance_pct",
    "note",
)  # fmt: skip


def read_payment_limits(path: Traversable | Path) -> Mapping[str, tuple[PaymentLimit, ...]]:
    """Parse a payment-limit file: code -> its quarters, oldest first."""
    table = read_table(path)
    table.require_columns(_LIMIT_COLUMNS)
    by_code: dict[str, list[PaymentLimit]] = {}
    seen: set[tuple[str, str]] = set()
    for row in table:
        limit = PaymentLimit(
            code=row.text("code"),
            quarter=row.parsed("quarter", _check_quarter, "a quarter like 2026Q1"),
            effective_from=row.date("effective_from"),
            effective_to=row.date("effective_to"),
            billing_unit=row.optional_text("billing_unit"),
            payment_limit=row.optional_decimal("payment_limit"),
            coinsurance_pct=row.optional_decimal("coinsurance_pct"),
            note=row.optional_text("note"),
        )
        if (limit.code, limit.quarter) in seen:
            raise row.error("quarter", f"duplicate row for {limit.code} {limit.quarter}")
        seen.add((limit.code, limit.quarter))
        if (
            quarter_of(limit.effective_from) != limit.quarter
            or quarter_of(limit.effective_to) != limit.quarter
        ):
            raise row.error("effective_from", f"dates do not lie in quarter {limit.quarter}")
        by_code.setdefault(limit.code, []).append(limit)
    return MappingProxyType(
        {code: tuple(sorted(limits, key=lambda x: x.effective_from)) for code, limits in by_code.items()}
    )


def read_drugs(
    path: Traversable | Path, payment_limits: Mapping[str, tuple[PaymentLimit, ...]] | None = None
) -> Mapping[str, Drug]:
    """Parse a drug file into code -> :class:`Drug` (``payment_limits`` joined by code when given)."""
    table = read_table(path)
    table.require_columns(_DRUG_COLUMNS)
    limits = payment_limits or {}
    drugs = table.by_code(lambda row: _drug(row, limits))
    _check_biosimilars(table, drugs)
    return MappingProxyType(drugs)


@cache
def load_payment_limits() -> Mapping[str, tuple[PaymentLimit, ...]]:
    """The packaged ``payment_limits.csv``: HCPCS code -> quarters (2024Q1, 2024Q4, 2025Q4, 2026Q1).

    >>> [p.quarter for p in load_payment_limits()["J9271"]]
    ['2024Q1', '2024Q4', '2025Q4', '2026Q1']
    """
    return read_payment_limits(data_file("payment_limits.csv"))


@cache
def load_drugs() -> Mapping[str, Drug]:
    """The packaged ``drugs.csv`` keyed by HCPCS code, with payment limits attached.

    >>> drug = load_drugs()["J9271"]
    >>> drug.billing_unit.amount, drug.billing_unit.unit, drug.drug_class
    (Decimal('1'), <MeasureUnit.MG: 'MG'>, <DrugClass.IMMUNOTHERAPY: 'immunotherapy'>)
    """
    return read_drugs(data_file("drugs.csv"), load_payment_limits())


def quarter_of(day: dt.date) -> str:
    """The calendar quarter of a date: ``2026-02-10`` -> ``2026Q1``."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def payment_limit(code: str, on: dt.date) -> Decimal | None:
    """Medicare Part B payment limit per billing unit of ``code`` on date ``on``.

    The published limit when ``on`` falls in a quarter whose CMS file lists the code. Otherwise an
    **estimate**: linear interpolation by quarter index between the nearest published quarters before and
    after, rounded to 0.001; before the first or after the last published quarter, that quarter's limit.
    A code absent from a file (not yet priced that quarter) is estimated the same way.
    ``None`` for a code with no published limit at all.

    >>> payment_limit("J9271", dt.date(2026, 2, 1))
    Decimal('59.726')
    """
    points = _published_points(code)
    if not points:
        return None
    index = _quarter_index(on)
    before = [p for p in points if p[0] <= index]
    after = [p for p in points if p[0] >= index]
    if not before:
        return after[0][1]
    if not after:
        return before[-1][1]
    (i0, v0), (i1, v1) = before[-1], after[0]
    if i0 == i1:
        return v0
    estimate = v0 + (v1 - v0) * Decimal(index - i0) / Decimal(i1 - i0)
    return estimate.quantize(LIMIT_PRECISION, rounding=ROUND_HALF_UP)


def payment_limit_is_published(code: str, on: dt.date) -> bool:
    """True when :func:`payment_limit` for this date is a published CMS value, not an estimate."""
    index = _quarter_index(on)
    return any(i == index for i, _ in _published_points(code))


@cache
def _published_points(code: str) -> tuple[tuple[int, Decimal], ...]:
    limits = load_payment_limits().get(code, ())
    return tuple(
        (_quarter_index(p.effective_from), p.payment_limit) for p in limits if p.payment_limit is not None
    )


def _quarter_index(day: dt.date) -> int:
    return day.year * 4 + (day.month - 1) // 3


def _check_quarter(value: str) -> str:
    year, sep, number = value.partition("Q")
    if not (sep and len(year) == 4 and year.isdigit() and number in {"1", "2", "3", "4"}):
        raise ValueError(value)
    return value


def _positive(value: str) -> Decimal:
    number = Decimal(value)
    if not number.is_finite() or number <= 0:
        raise ValueError(value)
    return number


def _drug(row: Row, limits: Mapping[str, tuple[PaymentLimit, ...]]) -> Drug:
    code = row.text("code")
    biosimilar_of = row.optional_text("biosimilar_of") or None
    return Drug(
        code=code,
        name=row.text("name"),
        billing_unit=BillingUnit(
            amount=row.parsed("unit_amount", _positive, "a positive decimal amount"),
            unit=row.enum("unit_measure", MeasureUnit),
            descriptor=row.text("billing_unit"),
        ),
        drug_class=row.enum("drug_class", DrugClass),
        complex_administration=row.boolean("complex_administration"),
        container=row.enum("container", ContainerType),
        container_note=row.optional_text("container_note"),
        vial_sizes=row.parsed_items("vial_sizes", _positive, "positive decimal amounts"),
        routes=row.parsed_items("routes", Route, f"routes ({', '.join(Route)})"),
        biosimilar_of=biosimilar_of,
        opps_status=row.text("opps_si"),
        prior_auth=row.optional_text("prior_auth"),
        icd10_families=row.items("icd10_families"),
        dx_text=row.optional_text("dx_text"),
        dose_rule=row.optional_text("dose_rule"),
        payment_limits=tuple(p for p in limits.get(code, ()) if p.payment_limit is not None),
    )


def _check_biosimilars(table: DataTable, drugs: Mapping[str, Drug]) -> None:
    for row in table:
        reference = row.optional_text("biosimilar_of")
        if reference and reference not in drugs:
            raise row.error("biosimilar_of", f"names {reference!r}, which is not a code in this table")
