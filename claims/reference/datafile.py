"""The reference-data file format: a provenance header, then a CSV table.

Every file under ``claims/reference/data`` starts with comment lines (``# key: value``) that say where the
data came from, then a CSV header row and data rows::

    # source: CMS January 2026 Medicare Part B Payment Limit File
    # version: 2026Q1
    # effective: 2026-01-01 to 2026-03-31
    # notes: values as published; descriptions in our own words
    code,name,...
    J9271,pembrolizumab,...

``source``, ``version`` and ``effective`` are required; ``notes`` is optional and may repeat (the lines are
joined). ``effective`` is ``YYYY-MM-DD to YYYY-MM-DD`` (either side may be ``open``), optionally followed by
a comment in parentheses; a table whose rows carry their own dates says ``per row (...)`` instead.

:func:`read_table` parses a file into a :class:`DataTable`; the :class:`Row` accessors convert cells to
typed values and raise :class:`ReferenceDataError` naming the file, the line and the column on bad input.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Protocol, TypeVar

from claims.errors import ClaimsError

__all__ = [
    "DataTable",
    "Provenance",
    "ReferenceDataError",
    "Row",
    "data_file",
    "read_table",
]

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")

#: Separator of multi-valued cells (``100|500``, ``J9271|J9299``).
LIST_SEPARATOR = "|"
_REQUIRED_KEYS = ("source", "version", "effective")
_KNOWN_KEYS = (*_REQUIRED_KEYS, "notes")
_EFFECTIVE = re.compile(
    r"^(?P<start>\d{4}-\d{2}-\d{2}|open) to (?P<end>\d{4}-\d{2}-\d{2}|open)(?:\s+\(.*\))?$"
)
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


class _HasCode(Protocol):
    @property
    def code(self) -> str: ...


_Keyed = TypeVar("_Keyed", bound=_HasCode)


class ReferenceDataError(ClaimsError):
    """A reference data file is missing, has a bad provenance header, or has a bad row.

    ``source`` is the file name, ``row`` the 1-based number of the data row (the header is row 0),
    ``line`` the 1-based line number in the file (comment lines count), ``column`` the column name.
    The message says what was expected and what was found, e.g.
    ``drugs.csv, row 3 (line 9), column 'unit_amount': expected a decimal number, found 'x'``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.row = row
        self.line = line
        self.column = column
        where = source
        if row is not None:
            where += f", row {row}"
        if line is not None:
            where += f" (line {line})" if row is not None else f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a table came from and when it applies (the file's ``#`` header).

    ``effective_from``/``effective_to`` are ``None`` when open-ended or when the rows carry their own
    dates (then ``effective_text`` says so).
    """

    source: str
    version: str
    effective_from: dt.date | None
    effective_to: dt.date | None
    notes: str
    effective_text: str


@dataclass(frozen=True, slots=True)
class Row:
    """One data row of a table, with typed accessors that report the file, line and column on error."""

    source: str
    number: int
    line: int
    cells: dict[str, str]

    def error(self, column: str | None, message: str) -> ReferenceDataError:
        """A :class:`ReferenceDataError` located at this row (and column)."""
        return ReferenceDataError(message, source=self.source, row=self.number, line=self.line, column=column)

    def text(self, column: str) -> str:
        """The stripped cell; a blank cell is an error."""
        value = self.optional_text(column)
        if not value:
            raise self.error(column, "expected a value, found an empty cell")
        return value

    def optional_text(self, column: str) -> str:
        """The stripped cell, ``""`` when blank."""
        try:
            return self.cells[column].strip()
        except KeyError:
            raise self.error(column, "no such column in the header") from None

    def parsed(self, column: str, parse: Callable[[str], T], expected: str) -> T:
        """Convert a required cell with ``parse``; any ``ValueError`` becomes a located error."""
        value = self.text(column)
        try:
            return parse(value)
        except (ValueError, ArithmeticError) as e:
            raise self.error(column, f"expected {expected}, found {value!r}") from e

    def optional_parsed(self, column: str, parse: Callable[[str], T], expected: str) -> T | None:
        """Like :meth:`parsed`, but ``None`` for a blank cell."""
        return self.parsed(column, parse, expected) if self.optional_text(column) else None

    def decimal(self, column: str) -> Decimal:
        """A required decimal number."""
        return self.parsed(column, _decimal, "a decimal number")

    def optional_decimal(self, column: str) -> Decimal | None:
        """A decimal number, ``None`` when blank."""
        return self.optional_parsed(column, _decimal, "a decimal number")

    def integer(self, column: str) -> int:
        """A required integer."""
        return self.parsed(column, int, "an integer")

    def optional_integer(self, column: str) -> int | None:
        """An integer, ``None`` when blank."""
        return self.optional_parsed(column, int, "an integer")

    def boolean(self, column: str) -> bool:
        """``true``/``false`` (also ``yes``/``no``, ``1``/``0``)."""
        return self.parsed(column, _boolean, "true or false")

    def date(self, column: str) -> dt.date:
        """A required ISO date (``YYYY-MM-DD``)."""
        return self.parsed(column, dt.date.fromisoformat, "a date YYYY-MM-DD")

    def optional_date(self, column: str) -> dt.date | None:
        """An ISO date, ``None`` when blank (an open end)."""
        return self.optional_parsed(column, dt.date.fromisoformat, "a date YYYY-MM-DD")

    def enum(self, column: str, kind: type[E]) -> E:
        """A required member of the StrEnum ``kind``, given by its value."""
        return self.parsed(column, kind, f"one of {_values(kind)}")

    def optional_enum(self, column: str, kind: type[E]) -> E | None:
        """A member of ``kind``, ``None`` when blank."""
        return self.optional_parsed(column, kind, f"one of {_values(kind)}")

    def items(self, column: str) -> tuple[str, ...]:
        """A ``|``-separated list of strings, ``()`` when blank."""
        value = self.optional_text(column)
        if not value:
            return ()
        parts = tuple(part.strip() for part in value.split(LIST_SEPARATOR))
        if any(not part for part in parts):
            raise self.error(column, f"expected a {LIST_SEPARATOR!r}-separated list, found {value!r}")
        return parts

    def parsed_items(self, column: str, parse: Callable[[str], T], expected: str) -> tuple[T, ...]:
        """A ``|``-separated list, each item converted with ``parse``."""
        out: list[T] = []
        for item in self.items(column):
            try:
                out.append(parse(item))
            except (ValueError, ArithmeticError) as e:
                raise self.error(column, f"expected a list of {expected}, found item {item!r}") from e
        return tuple(out)


@dataclass(frozen=True, slots=True)
class DataTable:
    """A parsed reference file: provenance, column names and rows."""

    source: str
    provenance: Provenance
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    header_line: int

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def by_code(self, build: Callable[[Row], _Keyed], *, what: str = "code") -> dict[str, _Keyed]:
        """``build`` every row into an item with a ``code``; a code seen twice is an error naming its row."""
        items: dict[str, _Keyed] = {}
        for row in self.rows:
            item = build(row)
            if item.code in items:
                raise row.error("code", f"duplicate {what} {item.code}")
            items[item.code] = item
        return items

    def require_columns(self, columns: Sequence[str]) -> None:
        """Fail unless every name in ``columns`` is in the header."""
        missing = [c for c in columns if c not in self.columns]
        if missing:
            raise ReferenceDataError(
                f"missing column(s) {missing}; header has {list(self.columns)}",
                source=self.source,
                line=self.header_line,
            )


def data_file(name: str) -> Traversable:
    """The packaged data file ``claims/reference/data/<name>`` (package data of ``claims``)."""
    return files("claims.reference").joinpath("data", name)


def read_table(path: Traversable | Path) -> DataTable:
    """Parse a reference file (provenance header, CSV header, rows).

    Raises :class:`ReferenceDataError` when the file is missing, a required provenance key is missing or
    malformed, the header is empty or repeats a name, or a row has the wrong number of cells.
    Blank lines are skipped; cell values are kept as text (see :class:`Row` for conversions).

    >>> table = read_table(data_file("carc.csv"))  # doctest: +SKIP
    >>> table.provenance.source  # doctest: +SKIP
    """
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError) as e:
        raise ReferenceDataError("file not found", source=source) from e
    lines = text.splitlines()
    meta: dict[str, list[str]] = {}
    first_data = 0
    for index, raw in enumerate(lines):
        if not raw.startswith("#"):
            first_data = index
            break
        body = raw[1:].strip()
        if not body:
            continue
        key, sep, value = body.partition(":")
        key = key.strip().lower()
        if not sep or key not in _KNOWN_KEYS:
            raise ReferenceDataError(
                f"expected a provenance line '# key: value' with key in {list(_KNOWN_KEYS)}, found {raw!r}",
                source=source,
                line=index + 1,
            )
        meta.setdefault(key, []).append(value.strip())
    else:
        first_data = len(lines)
    provenance = _provenance(meta, source)

    reader = csv.reader(lines[first_data:], strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ReferenceDataError(
            "expected a CSV header row after the provenance lines", source=source
        ) from None
    except csv.Error as e:
        raise ReferenceDataError(f"bad CSV header: {e}", source=source, line=first_data + 1) from e
    columns = tuple(name.strip() for name in header)
    if not all(columns) or len(set(columns)) != len(columns):
        raise ReferenceDataError(
            f"expected distinct, non-empty column names, found {list(columns)}",
            source=source,
            line=first_data + 1,
        )
    rows: list[Row] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise ReferenceDataError(
                f"bad CSV syntax: {e}", source=source, row=len(rows) + 1, line=first_data + reader.line_num
            ) from e
        line = first_data + reader.line_num
        if not cells or all(not cell.strip() for cell in cells):
            continue
        number = len(rows) + 1
        if len(cells) != len(columns):
            raise ReferenceDataError(
                f"expected {len(columns)} cells ({', '.join(columns)}), found {len(cells)}",
                source=source,
                row=number,
                line=line,
            )
        rows.append(
            Row(source=source, number=number, line=line, cells=dict(zip(columns, cells, strict=True)))
        )
    return DataTable(
        source=source, provenance=provenance, columns=columns, rows=tuple(rows), header_line=first_data + 1
    )


def _provenance(meta: dict[str, list[str]], source: str) -> Provenance:
    missing = [key for key in _REQUIRED_KEYS if not meta.get(key)]
    if missing:
        raise ReferenceDataError(f"provenance header lacks {missing} (lines '# key: value')", source=source)
    effective = " ".join(meta["effective"])
    start: dt.date | None = None
    end: dt.date | None = None
    if not effective.startswith("per row"):
        match = _EFFECTIVE.match(effective)
        if not match:
            raise ReferenceDataError(
                "expected '# effective: YYYY-MM-DD to YYYY-MM-DD' (or 'open', or 'per row (...)'), "
                f"found {effective!r}",
                source=source,
            )
        try:
            start = _date_or_open(match["start"])
            end = _date_or_open(match["end"])
        except ValueError as e:
            raise ReferenceDataError(f"bad effective date in {effective!r}", source=source) from e
        if start and end and end < start:
            raise ReferenceDataError(f"effective range ends before it starts: {effective!r}", source=source)
    return Provenance(
        source=" ".join(meta["source"]),
        version=" ".join(meta["version"]),
        effective_from=start,
        effective_to=end,
        notes=" ".join(meta.get("notes", [])),
        effective_text=effective,
    )


def _date_or_open(value: str) -> dt.date | None:
    return None if value == "open" else dt.date.fromisoformat(value)


def _decimal(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation as e:
        raise ValueError(value) from e
    if not number.is_finite():
        raise ValueError(value)
    return number


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(value)


def _values(kind: type[StrEnum]) -> str:
    return ", ".join(member.value for member in kind)
