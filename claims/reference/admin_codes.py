"""Drug administration codes used in outpatient oncology (``admin_codes.csv``).

Facts for the infusion hierarchy (oncology-billing.md 2.1-2.2): one *initial* code per encounter, chosen
by hierarchy (chemo infusion > chemo push > therapeutic infusion > therapeutic push > hydration; SC/IM
injections are outside the hierarchy); add-on codes need one of their primaries on the same claim and
date; infusion codes have time thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from claims import codes
from claims.enums import AdminRole
from claims.reference.datafile import Row, data_file, read_table

__all__ = [
    "AdminCategory",
    "AdminCode",
    "AdminMethod",
    "load_admin_codes",
    "read_admin_codes",
]

_COLUMNS = (
    "code", "description", "role", "category", "method", "hierarchy_rank", "min_minutes", "max_minutes",
    "is_additional_hour", "allowed_primaries", "opps_si", "opps_apc", "opps_rate", "time_rule",
    "revenue_code", "notes",
)  # fmt: skip


class AdminCategory(StrEnum):
    """What kind of administration service the code reports."""

    CHEMO = "chemo"
    THERAPEUTIC = "therapeutic"
    HYDRATION = "hydration"
    INJECTION = "injection"
    PUMP = "pump"
    PORT = "port"


class AdminMethod(StrEnum):
    """How the drug goes in: an infusion (over 15 min), an IV push (15 min or less), an SC/IM injection."""

    INFUSION = "infusion"
    PUSH = "push"
    INJECTION = "injection"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class AdminCode:
    """One administration code.

    ``hierarchy_rank``: lower is higher in the facility hierarchy (1 chemo infusion ... 5 hydration),
    ``None`` for injections, pumps and port services. ``min_minutes`` is the shortest reportable time,
    inclusive (96413: 16); for ``is_additional_hour`` codes it counts minutes past the last full hour
    (96415: 31). ``max_minutes`` is the push limit (15). ``allowed_primaries`` lists the codes an add-on
    or concurrent code may accompany (UNVERIFIED, see ``notes``). OPPS values are CY2025 Addendum B.
    """

    code: str
    description: str
    role: AdminRole
    category: AdminCategory
    method: AdminMethod
    hierarchy_rank: int | None
    min_minutes: int | None
    max_minutes: int | None
    is_additional_hour: bool
    allowed_primaries: tuple[str, ...]
    opps_status: str
    opps_apc: str | None
    opps_rate: Decimal | None
    time_rule: str
    revenue_code: str
    notes: str

    @property
    def needs_primary(self) -> bool:
        """True for add-on and concurrent codes: they are never billed without a primary code."""
        return self.role in (AdminRole.ADD_ON, AdminRole.CONCURRENT)


def read_admin_codes(path: Traversable | Path) -> Mapping[str, AdminCode]:
    """Parse an administration-code file into code -> :class:`AdminCode`.

    Checks that every allowed primary is itself in the table and that add-on/concurrent codes list one.
    """
    table = read_table(path)
    table.require_columns(_COLUMNS)

    def build(row: Row) -> AdminCode:
        item = AdminCode(
            code=row.parsed("code", _hcpcs, "a CPT/HCPCS code"),
            description=row.text("description"),
            role=row.enum("role", AdminRole),
            category=row.enum("category", AdminCategory),
            method=row.enum("method", AdminMethod),
            hierarchy_rank=row.optional_integer("hierarchy_rank"),
            min_minutes=row.optional_integer("min_minutes"),
            max_minutes=row.optional_integer("max_minutes"),
            is_additional_hour=row.boolean("is_additional_hour"),
            allowed_primaries=row.parsed_items("allowed_primaries", _hcpcs, "CPT/HCPCS codes"),
            opps_status=row.optional_text("opps_si"),
            opps_apc=row.optional_text("opps_apc") or None,
            opps_rate=row.optional_decimal("opps_rate"),
            time_rule=row.optional_text("time_rule"),
            revenue_code=row.parsed("revenue_code", _revenue_code, "a four-digit revenue code"),
            notes=row.optional_text("notes"),
        )
        if item.needs_primary and not item.allowed_primaries:
            raise row.error("allowed_primaries", f"a {item.role} code must list its allowed primary codes")
        return item

    admin = table.by_code(build)
    for row in table:
        for primary in admin[row.text("code")].allowed_primaries:
            if primary not in admin:
                raise row.error("allowed_primaries", f"primary {primary} is not a code in this table")
    return MappingProxyType(admin)


@cache
def load_admin_codes() -> Mapping[str, AdminCode]:
    """The packaged ``admin_codes.csv`` keyed by code.

    >>> load_admin_codes()["96415"].allowed_primaries
    ('96413', '96417')
    """
    return read_admin_codes(data_file("admin_codes.csv"))


def _hcpcs(value: str) -> str:
    if not codes.is_hcpcs(value):
        raise ValueError(value)
    return value


def _revenue_code(value: str) -> str:
    if len(value) != 4 or not value.isdigit():
        raise ValueError(value)
    return value
