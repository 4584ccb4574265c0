"""Exceptions of the ``claims`` package.

Every error says where (file, X12 segment index, claim id, field path) and what was expected,
keeps its cause, and never carries patient data (names, member ids, birth dates).
"""

from __future__ import annotations


class ClaimsError(Exception):
    """Base class of every error raised by the claims package."""


class X12Error(ClaimsError):
    """An X12 interchange or transaction could not be read.

    ``segment_index`` is the 1-based position of the offending segment in the interchange
    (after normalisation), ``segment_id`` its identifier (``CLM``, ``SE`` ...).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        segment_index: int | None = None,
        segment_id: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.segment_index = segment_index
        self.segment_id = segment_id
        self.expected = expected
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``file: segment 12 (CLM): message; expected ...`` on a single line."""
        parts: list[str] = []
        if self.source:
            parts.append(self.source)
        if self.segment_index is not None:
            where = f"segment {self.segment_index}"
            if self.segment_id:
                where += f" ({self.segment_id})"
            parts.append(where)
        text = ": ".join([*parts, self.message]) if parts else self.message
        if self.expected:
            text += f"; expected {self.expected}"
        return text.replace("\n", " ")


class UnsupportedVersionError(X12Error):
    """The interchange uses an X12 version other than 005010 (e.g. 004010)."""


class DomainValueError(ClaimsError):
    """A value read from a file is not a valid domain value (the field path says which)."""

    def __init__(self, field_path: str, message: str, *, source: str | None = None) -> None:
        self.field_path = field_path
        self.message = message
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{field_path}: {message}")
