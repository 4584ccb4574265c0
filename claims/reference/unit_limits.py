"""Per-code drug unit limits (``unit_limits.csv``): an MUE-like maximum of HCPCS billing units per date.

The values are **simulator defaults**, not the CMS MUE table: the proxy of oncology-billing.md 2.3 (the
largest plausible dose in billing units, rounded up to a whole largest vial), written by
``scripts/build_unit_limits.py`` from the simulator so the two cannot drift. A code without a row has no
limit here. Replace the file with the CMS practitioner / outpatient-hospital MUE tables when they are loaded.

>>> load_unit_limits()["J9271"]
400
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from claims import codes
from claims.reference.datafile import data_file, read_table

__all__ = ["load_unit_limits", "read_unit_limits", "unit_limit"]

_COLUMNS = ("code", "max_units")


def read_unit_limits(path: Traversable | Path) -> Mapping[str, int]:
    """Parse a unit-limit file into HCPCS code -> maximum billing units per date of service."""
    table = read_table(path)
    table.require_columns(_COLUMNS)
    limits: dict[str, int] = {}
    for row in table:
        code = row.parsed("code", _hcpcs, "a HCPCS code such as J9271")
        max_units = row.parsed("max_units", _positive_int, "a positive whole number of billing units")
        if code in limits:
            raise row.error("code", f"duplicate code {code}")
        limits[code] = max_units
    return MappingProxyType(limits)


@cache
def load_unit_limits() -> Mapping[str, int]:
    """The packaged ``unit_limits.csv`` (simulator defaults; see the module docstring)."""
    return read_unit_limits(data_file("unit_limits.csv"))


def unit_limit(code: str) -> int | None:
    """The unit limit of ``code``, ``None`` when the table has none."""
    return load_unit_limits().get(code.strip().upper())


def _hcpcs(value: str) -> str:
    value = value.upper()
    if not codes.is_hcpcs(value):
        raise ValueError(value)
    return value


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number
