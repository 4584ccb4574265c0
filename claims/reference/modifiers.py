"""HCPCS/CPT modifiers that matter for oncology denials (``modifiers.csv``).

JW/JZ (drug waste), 25 (E/M on an infusion day), 59/X{EPSU} (second initial administration code),
Q0/Q1 (clinical trials), GA/GZ/GY (liability), EA/EB/EC (ESA indication), JG/TB (340B), JA/JB (route).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from claims import codes
from claims.reference.datafile import Row, data_file, read_table

__all__ = [
    "JZ_REQUIRED_FROM",
    "MEDICARE_JW_JZ_ENFORCED_FROM",
    "Modifier",
    "ModifierCategory",
    "exclusive_modifier_groups",
    "load_modifiers",
    "read_modifiers",
]

#: CMS: JZ required on single-dose-container drug lines without waste from this date (optional before).
#: The same dates are in modifiers.csv (JZ required_from / enforced_from); a test keeps them equal.
JZ_REQUIRED_FROM = dt.date(2023, 7, 1)
#: CMS: Medicare claims lacking JW/JZ may be returned as unprocessable from this date.
MEDICARE_JW_JZ_ENFORCED_FROM = dt.date(2023, 10, 1)

_COLUMNS = (
    "code", "meaning", "category", "effective_from", "effective_to", "required_from", "enforced_from",
    "exclusive_group", "applies_to", "notes",
)  # fmt: skip


class ModifierCategory(StrEnum):
    """Ordering class of a modifier: pricing first, then payment/processing, then informational."""

    PRICING = "pricing"
    PAYMENT = "payment"
    INFORMATIONAL = "informational"


@dataclass(frozen=True, slots=True)
class Modifier:
    """One modifier.

    ``effective_from``/``effective_to`` bound when it is valid (``None``: open, or not recorded);
    ``required_from`` is when CMS began requiring it where it applies, ``enforced_from`` when claims without
    it began to be returned (JZ: 2023-07-01 and 2023-10-01). Modifiers sharing an ``exclusive_group`` must
    not appear together on one line (JW/JZ; GA/GZ/GY; 59 vs X{EPSU}; EA/EB/EC).
    """

    code: str
    meaning: str
    category: ModifierCategory
    effective_from: dt.date | None
    effective_to: dt.date | None
    required_from: dt.date | None
    enforced_from: dt.date | None
    exclusive_group: str | None
    applies_to: str
    notes: str

    def is_valid_on(self, day: dt.date) -> bool:
        """True when ``day`` lies within the effective dates (open ends count as valid)."""
        if self.effective_from and day < self.effective_from:
            return False
        return not (self.effective_to and day > self.effective_to)

    def is_required_on(self, day: dt.date) -> bool:
        """True when CMS requires the modifier (where it applies) on ``day``."""
        return self.required_from is not None and day >= self.required_from


def read_modifiers(path: Traversable | Path) -> Mapping[str, Modifier]:
    """Parse a modifier file into code -> :class:`Modifier`."""
    table = read_table(path)
    table.require_columns(_COLUMNS)

    def build(row: Row) -> Modifier:
        item = Modifier(
            code=row.parsed("code", _modifier, "a two-character modifier"),
            meaning=row.text("meaning"),
            category=row.enum("category", ModifierCategory),
            effective_from=row.optional_date("effective_from"),
            effective_to=row.optional_date("effective_to"),
            required_from=row.optional_date("required_from"),
            enforced_from=row.optional_date("enforced_from"),
            exclusive_group=row.optional_text("exclusive_group") or None,
            applies_to=row.optional_text("applies_to"),
            notes=row.optional_text("notes"),
        )
        if item.effective_from and item.effective_to and item.effective_to < item.effective_from:
            raise row.error("effective_to", "ends before effective_from")
        if item.required_from and item.enforced_from and item.enforced_from < item.required_from:
            raise row.error("enforced_from", "earlier than required_from")
        return item

    return MappingProxyType(table.by_code(build, what="modifier"))


@cache
def load_modifiers() -> Mapping[str, Modifier]:
    """The packaged ``modifiers.csv`` keyed by modifier.

    >>> load_modifiers()["JZ"].required_from
    datetime.date(2023, 7, 1)
    """
    return read_modifiers(data_file("modifiers.csv"))


@cache
def exclusive_modifier_groups() -> Mapping[str, frozenset[str]]:
    """Group name -> the modifiers of which at most one may be on a line (``waste`` -> JW, JZ)."""
    groups: dict[str, set[str]] = {}
    for modifier in load_modifiers().values():
        if modifier.exclusive_group:
            groups.setdefault(modifier.exclusive_group, set()).add(modifier.code)
    return MappingProxyType({name: frozenset(members) for name, members in groups.items()})


def _modifier(value: str) -> str:
    if not codes.is_modifier(value):
        raise ValueError(value)
    return value
