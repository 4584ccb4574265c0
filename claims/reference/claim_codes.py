"""Where and on what form a claim is billed: places of service, types of bill, revenue codes.

* ``places_of_service.csv``: 837P CLM05-1 / SV105 (11 office, 19/22 hospital outpatient ...).
* ``bill_types.csv``: 837I CLM05-1 + CLM05-3, the UB-04 type of bill (0131 hospital outpatient original).
* ``revenue_codes.csv``: 837I SV201 (0335 chemo IV, 0636 drugs with detailed coding ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from claims.reference.datafile import Row, data_file, read_table

__all__ = [
    "BillType",
    "PlaceOfService",
    "RevenueCode",
    "load_bill_types",
    "load_places_of_service",
    "load_revenue_codes",
    "read_bill_types",
    "read_places_of_service",
    "read_revenue_codes",
]


@dataclass(frozen=True, slots=True)
class PlaceOfService:
    """A CMS place-of-service code; ``facility_rate``: the PFS pays its facility rate there."""

    code: str
    name: str
    setting: str
    facility_rate: bool
    notes: str


@dataclass(frozen=True, slots=True)
class BillType:
    """A type of bill: ``facility_type`` (013 hospital outpatient, 085 CAH) and claim ``frequency``
    (1 original, 7 replacement, 8 void)."""

    code: str
    facility_type: str
    facility: str
    frequency: str
    frequency_meaning: str
    notes: str


@dataclass(frozen=True, slots=True)
class RevenueCode:
    """A UB-04 revenue code; ``hcpcs_required``: lines under it are expected to carry a HCPCS code."""

    code: str
    name: str
    typical_use: str
    hcpcs_required: bool
    notes: str


def read_places_of_service(path: Traversable | Path) -> Mapping[str, PlaceOfService]:
    """Parse a place-of-service file into code -> :class:`PlaceOfService`."""
    table = read_table(path)
    table.require_columns(("code", "name", "setting", "facility_rate", "notes"))
    return MappingProxyType(
        table.by_code(
            lambda row: PlaceOfService(
                code=row.parsed("code", _digits(2), "a two-digit code"),
                name=row.text("name"),
                setting=row.text("setting"),
                facility_rate=row.boolean("facility_rate"),
                notes=row.optional_text("notes"),
            )
        )
    )


def read_bill_types(path: Traversable | Path) -> Mapping[str, BillType]:
    """Parse a type-of-bill file into code -> :class:`BillType` (checks code = facility type + frequency)."""
    table = read_table(path)
    table.require_columns(("code", "facility_type", "facility", "frequency", "frequency_meaning", "notes"))

    def build(row: Row) -> BillType:
        item = BillType(
            code=row.parsed("code", _digits(4), "a four-digit type of bill"),
            facility_type=row.parsed("facility_type", _digits(3), "three digits (013, 085)"),
            facility=row.text("facility"),
            frequency=row.parsed("frequency", _digits(1), "one digit"),
            frequency_meaning=row.text("frequency_meaning"),
            notes=row.optional_text("notes"),
        )
        if item.code != item.facility_type + item.frequency:
            raise row.error(
                "code", f"expected facility_type + frequency = {item.facility_type + item.frequency}"
            )
        return item

    return MappingProxyType(table.by_code(build))


def read_revenue_codes(path: Traversable | Path) -> Mapping[str, RevenueCode]:
    """Parse a revenue-code file into code -> :class:`RevenueCode`."""
    table = read_table(path)
    table.require_columns(("code", "name", "typical_use", "hcpcs_required", "notes"))
    return MappingProxyType(
        table.by_code(
            lambda row: RevenueCode(
                code=row.parsed("code", _digits(4), "a four-digit revenue code"),
                name=row.text("name"),
                typical_use=row.optional_text("typical_use"),
                hcpcs_required=row.boolean("hcpcs_required"),
                notes=row.optional_text("notes"),
            )
        )
    )


@cache
def load_places_of_service() -> Mapping[str, PlaceOfService]:
    """The packaged ``places_of_service.csv`` keyed by two-digit code (``"11"``)."""
    return read_places_of_service(data_file("places_of_service.csv"))


@cache
def load_bill_types() -> Mapping[str, BillType]:
    """The packaged ``bill_types.csv`` keyed by four-digit type of bill (``"0131"``)."""
    return read_bill_types(data_file("bill_types.csv"))


@cache
def load_revenue_codes() -> Mapping[str, RevenueCode]:
    """The packaged ``revenue_codes.csv`` keyed by four-digit revenue code (``"0335"``)."""
    return read_revenue_codes(data_file("revenue_codes.csv"))


def _digits(length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) != length or not value.isdigit():
            raise ValueError(value)
        return value

    return check
