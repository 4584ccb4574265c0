"""Claim adjustment reason codes (CARC, ``carc.csv``) and remark codes (RARC, ``rarc.csv``).

A denied 835 line carries a CARC (CAS02) and often a RARC (LQ02). The CARC gives the
:class:`~claims.enums.DenialCategory`; for generic CARCs (4, 16, 96, 97: ``refine_by_rarc``) the RARC's
``category_hint`` tells it better. Meanings are our own short paraphrase: the official texts are licensed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from claims.enums import AdjustmentGroup, DenialCategory
from claims.reference.datafile import Row, data_file, read_table

__all__ = [
    "Carc",
    "Rarc",
    "denial_category",
    "load_carcs",
    "load_rarcs",
    "read_carcs",
    "read_rarcs",
]

_CARC_COLUMNS = (
    "code",
    "meaning",
    "typical_group",
    "category",
    "refine_by_rarc",
    "oncology_trigger",
    "notes",
)
_RARC_COLUMNS = ("code", "meaning", "category_hint", "typical_carcs", "notes")


@dataclass(frozen=True, slots=True)
class Carc:
    """One claim adjustment reason code.

    ``category`` is ``None`` for codes that are not denials (1, 2, 3 patient share; 23 prior payer;
    45 contractual write-off; 94; 253 sequestration). ``typical_groups``: most common first.
    """

    code: str
    meaning: str
    typical_groups: tuple[AdjustmentGroup, ...]
    category: DenialCategory | None
    refine_by_rarc: bool
    oncology_trigger: str
    notes: str

    @property
    def is_denial(self) -> bool:
        """True when an adjustment with this code denies (part of) the line."""
        return self.category is not None


@dataclass(frozen=True, slots=True)
class Rarc:
    """One remittance advice remark code; ``category_hint`` refines a generic CARC's category."""

    code: str
    meaning: str
    category_hint: DenialCategory | None
    typical_carcs: tuple[str, ...]
    notes: str


def read_carcs(path: Traversable | Path) -> Mapping[str, Carc]:
    """Parse a CARC file into code -> :class:`Carc`."""
    table = read_table(path)
    table.require_columns(_CARC_COLUMNS)

    def build(row: Row) -> Carc:
        item = Carc(
            code=row.text("code"),
            meaning=row.text("meaning"),
            typical_groups=row.parsed_items(
                "typical_group", AdjustmentGroup, "CAS group codes (CO, PR, OA, PI)"
            ),
            category=row.optional_enum("category", DenialCategory),
            refine_by_rarc=row.boolean("refine_by_rarc"),
            oncology_trigger=row.optional_text("oncology_trigger"),
            notes=row.optional_text("notes"),
        )
        if not item.typical_groups:
            raise row.error("typical_group", "expected at least one group code")
        return item

    return MappingProxyType(table.by_code(build, what="CARC"))


def read_rarcs(path: Traversable | Path) -> Mapping[str, Rarc]:
    """Parse a RARC file into code -> :class:`Rarc`."""
    table = read_table(path)
    table.require_columns(_RARC_COLUMNS)
    return MappingProxyType(
        table.by_code(
            lambda row: Rarc(
                code=row.text("code"),
                meaning=row.text("meaning"),
                category_hint=row.optional_enum("category_hint", DenialCategory),
                typical_carcs=row.items("typical_carcs"),
                notes=row.optional_text("notes"),
            ),
            what="RARC",
        )
    )


@cache
def load_carcs() -> Mapping[str, Carc]:
    """The packaged ``carc.csv`` keyed by code (``"16"``, ``"B15"``).

    >>> load_carcs()["197"].category
    <DenialCategory.AUTHORIZATION: 'authorization'>
    """
    return read_carcs(data_file("carc.csv"))


@cache
def load_rarcs() -> Mapping[str, Rarc]:
    """The packaged ``rarc.csv`` keyed by code (``"N362"``)."""
    return read_rarcs(data_file("rarc.csv"))


def denial_category(carc: str, rarcs: tuple[str, ...] = ()) -> DenialCategory | None:
    """The denial category of an adjustment: the CARC's, refined by the first hinting RARC when the CARC is
    generic. ``None`` when the CARC is not a denial; ``OTHER`` for a CARC not in the table.

    >>> denial_category("96", ("N362",))
    <DenialCategory.UNITS_MUE: 'units_mue'>
    """
    item = load_carcs().get(carc.strip().upper())
    if item is None:
        return DenialCategory.OTHER
    if item.category is None:
        return None
    if item.refine_by_rarc:
        known = load_rarcs()
        for code in rarcs:
            remark = known.get(code.strip().upper())
            if remark is not None and remark.category_hint is not None:
                return remark.category_hint
    return item.category
