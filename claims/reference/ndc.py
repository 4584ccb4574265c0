"""The NDC to HCPCS crosswalk for the oncology drug codes (``ndc_crosswalk.csv``).

Claims report the drug's package as an 11-digit NDC (837 loop 2410 LIN03, 5-4-2 without hyphens) next to
the HCPCS code; an NDC billed under the wrong HCPCS code is a classic CO-16/M119 or N657 denial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from claims import codes
from claims.reference.datafile import data_file, read_table

__all__ = [
    "NdcPackage",
    "hcpcs_for_ndc",
    "load_ndc_crosswalk",
    "ndcs_for_hcpcs",
    "read_ndc_crosswalk",
]

_COLUMNS = (
    "ndc", "hcpcs", "labeler", "drug_name", "billing_unit", "package_size", "package_quantity",
    "billing_units_per_item", "billing_units_per_package",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class NdcPackage:
    """One NDC package and the HCPCS code it bills under (CMS ASP NDC-HCPCS crosswalk).

    ``package_size`` and ``package_quantity`` are as CMS publishes them (e.g. 4 mL, 1 vial);
    ``billing_units_per_item`` is HCPCS units in one item (vial/syringe), ``billing_units_per_package`` in the
    whole package (J9271 100 mg/4 mL vial: 100 and 100).
    """

    ndc: str
    hcpcs: str
    labeler: str
    drug_name: str
    billing_unit: str
    package_size: str
    package_quantity: str
    billing_units_per_item: Decimal
    billing_units_per_package: Decimal


def read_ndc_crosswalk(path: Traversable | Path) -> Mapping[str, NdcPackage]:
    """Parse a crosswalk file into 11-digit NDC -> :class:`NdcPackage`."""
    table = read_table(path)
    table.require_columns(_COLUMNS)
    packages: dict[str, NdcPackage] = {}
    for row in table:
        package = NdcPackage(
            ndc=row.parsed("ndc", _ndc, "an NDC (11 digits, 5-4-2)"),
            hcpcs=row.parsed("hcpcs", _hcpcs, "a HCPCS code"),
            labeler=row.optional_text("labeler"),
            drug_name=row.optional_text("drug_name"),
            billing_unit=row.optional_text("billing_unit"),
            package_size=row.optional_text("package_size"),
            package_quantity=row.optional_text("package_quantity"),
            billing_units_per_item=row.decimal("billing_units_per_item"),
            billing_units_per_package=row.decimal("billing_units_per_package"),
        )
        if package.ndc in packages:
            raise row.error("ndc", f"NDC {package.ndc} appears twice")
        packages[package.ndc] = package
    return MappingProxyType(packages)


@cache
def load_ndc_crosswalk() -> Mapping[str, NdcPackage]:
    """The packaged crosswalk (CMS January 2026), keyed by 11-digit NDC."""
    return read_ndc_crosswalk(data_file("ndc_crosswalk.csv"))


def hcpcs_for_ndc(ndc: str) -> str | None:
    """The HCPCS code an NDC bills under, or ``None`` if the NDC is not in the oncology crosswalk.

    Accepts hyphenated 5-4-2 forms (``00006-3026-02``) as well as 11 digits.

    >>> hcpcs_for_ndc("00006-3026-02")
    'J9271'
    """
    try:
        key = _ndc(ndc)
    except ValueError:
        return None
    package = load_ndc_crosswalk().get(key)
    return package.hcpcs if package else None


def ndcs_for_hcpcs(code: str) -> tuple[NdcPackage, ...]:
    """The crosswalk packages billed under a HCPCS code, ordered by NDC (``()`` if none)."""
    return _by_hcpcs().get(code.strip().upper(), ())


@cache
def _by_hcpcs() -> Mapping[str, tuple[NdcPackage, ...]]:
    grouped: dict[str, list[NdcPackage]] = {}
    for package in load_ndc_crosswalk().values():
        grouped.setdefault(package.hcpcs, []).append(package)
    return MappingProxyType({code: tuple(sorted(p, key=lambda x: x.ndc)) for code, p in grouped.items()})


def _ndc(value: str) -> str:
    """11-digit 5-4-2 NDC; a hyphenated form is padded segment by segment (4-4-2 -> 04-4-2)."""
    value = value.strip()
    if "-" in value:
        parts = value.split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError(value)
        value = parts[0].zfill(5) + parts[1].zfill(4) + parts[2].zfill(2)
    if not codes.NDC_PATTERN.match(value):
        raise ValueError(value)
    return value


def _hcpcs(value: str) -> str:
    value = value.upper()
    if not codes.is_hcpcs(value):
        raise ValueError(value)
    return value
