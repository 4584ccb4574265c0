"""Accept X12 files as clearinghouses do, before x12sdk sees them.

Real files differ from the implementation guide's examples in ways that x12sdk alone stumbles on:
a byte-order mark, CR/LF or indentation between segments, a CR or newline segment terminator, delimiters
other than ``*`` ``:`` ``~``, several ISA/GS/ST envelopes in one file. This module decodes the bytes,
finds each interchange by the delimiters its own ISA declares, and hands x12sdk's parser clean
segments (no whitespace between them, whatever the terminator). It also checks the envelopes
(ISA/IEA, GS/GE, ST/SE pairing and control counts) so that a broken envelope is reported at its
segment position, not as a traceback.

No X12 content is interpreted here: the transactions themselves are parsed by x12sdk (``claims.x12.wire``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from claims.errors import UnsupportedVersionError, X12Error

#: ISA is a fixed-length segment: 105 characters before its terminator when its fields are padded.
ISA_LENGTH = 106
SUPPORTED_VERSION = "005010"


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators an ISA declares: ISA03 position, ISA11 (repetition), ISA16, and the terminator."""

    element: str
    component: str
    repetition: str
    segment: str


@dataclass(slots=True)
class Transaction:
    """One ST..SE transaction set, its segments as element lists, with their positions in the file."""

    code: str  # ST01: 837 or 835
    version: str  # GS08 / ST03: 005010X222A2 ...
    control_number: str  # ST02
    segments: list[list[str]]  # ST through SE, split into elements
    positions: list[int]  # 1-based segment index in the file of each segment


@dataclass(slots=True)
class Interchange:
    """One ISA..IEA interchange: its delimiters, ISA elements, transactions and envelope errors."""

    delimiters: Delimiters
    isa: list[str]
    transactions: list[Transaction] = field(default_factory=list)
    errors: list[X12Error] = field(default_factory=list)
    first_position: int = 1


def decode(data: bytes, source: str) -> str:
    """Bytes to text: drops a UTF-8 byte-order mark; refuses empty and binary input with a clear error."""
    if not data.strip():
        raise X12Error("the file is empty", source=source, segment_index=1, expected="an ISA segment")
    if b"\x00" in data[:4096]:
        raise X12Error(
            "the file is binary, not X12 text", source=source, segment_index=1, expected="an ISA segment"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # X12 basic/extended character sets fit in Latin-1; decoding cannot fail there.
        return data.decode("latin-1")


def _read_isa(text: str, start: int, source: str, position: int) -> tuple[Delimiters, list[str], int]:
    """Parse the ISA at ``text[start:]``; return its delimiters, elements and the index after it."""
    if not text.startswith("ISA", start):
        # The text found is not echoed: a stray file may hold patient data.
        raise X12Error(
            "not an X12 interchange: the text does not start with an ISA segment",
            source=source,
            segment_index=position,
            expected="an ISA segment",
        )
    element = text[start + 3 : start + 4]
    if not element or element.isalnum() or element.isspace():
        raise X12Error(
            "the ISA does not declare a usable element separator",
            source=source,
            segment_index=position,
            segment_id="ISA",
            expected="a separator character at ISA position 4",
        )
    # ISA has 16 elements: the component separator (ISA16) follows the 16th element separator,
    # and the segment terminator follows ISA16.
    cursor = start
    for _ in range(16):
        cursor = text.find(element, cursor + 1)
        if cursor < 0:
            raise X12Error(
                "truncated ISA segment",
                source=source,
                segment_index=position,
                segment_id="ISA",
                expected="16 ISA elements",
            )
    if cursor + 2 >= len(text) + 1 or cursor + 1 >= len(text):
        raise X12Error(
            "truncated ISA segment",
            source=source,
            segment_index=position,
            segment_id="ISA",
            expected="ISA16 and a segment terminator",
        )
    component = text[cursor + 1]
    terminator = text[cursor + 2] if cursor + 2 < len(text) else ""
    if not terminator:
        raise X12Error(
            "truncated ISA segment",
            source=source,
            segment_index=position,
            segment_id="ISA",
            expected="a segment terminator after ISA16",
        )
    elements = text[start : cursor + 2].split(element)
    repetition = elements[11] if len(elements[11]) == 1 and not elements[11].isalnum() else "^"
    if terminator == "\r" and text[cursor + 3 : cursor + 4] == "\n":
        terminator = "\n"  # CR LF terminated: treat as newline-terminated
        end = cursor + 4
    else:
        end = cursor + 3
    return Delimiters(element, component, repetition, terminator), elements, end


def split_interchanges(text: str, source: str) -> list[Interchange]:
    """Split a file's text into interchanges and their ST..SE transactions, checking the envelopes.

    Errors in one transaction's envelope (a missing SE, a wrong SE01 count) are recorded on the
    interchange and that transaction is left out; the others are kept. An error that makes the rest of
    the file unreadable (no ISA, a truncated ISA) is raised.
    """
    interchanges: list[Interchange] = []
    pos = 0
    position = 1  # 1-based index of the next segment in the file
    length = len(text)
    while True:
        while pos < length and text[pos] in " \t\r\n\x1a":
            pos += 1
        if pos >= length:
            break
        delimiters, isa, after_isa = _read_isa(text, pos, source, position)
        interchange = Interchange(delimiters=delimiters, isa=isa, first_position=position)
        interchanges.append(interchange)
        terminator = delimiters.segment
        # The interchange ends at its IEA segment; the next one (if any) starts after it.
        segments: list[list[str]] = [isa]
        positions: list[int] = [position]
        position += 1
        cursor = after_isa
        ended = False
        while cursor < length:
            nxt = text.find(terminator, cursor)
            raw = text[cursor:] if nxt < 0 else text[cursor:nxt]
            cursor = length if nxt < 0 else nxt + 1
            raw = raw.strip(" \t\r\n")
            if not raw:
                continue
            elements = raw.split(delimiters.element)
            segments.append(elements)
            positions.append(position)
            position += 1
            if elements[0] == "IEA":
                ended = True
                break
            if elements[0] == "ISA":
                interchange.errors.append(
                    X12Error(
                        "a new interchange starts before the previous one ended",
                        source=source,
                        segment_index=position - 1,
                        segment_id="ISA",
                        expected="IEA before the next ISA",
                    )
                )
                break
        pos = cursor
        if not ended:
            interchange.errors.append(
                X12Error(
                    "truncated interchange: the file ends without an IEA segment",
                    source=source,
                    segment_index=position,
                    expected="IEA closing the ISA at segment " + str(interchange.first_position),
                )
            )
        _collect_transactions(interchange, segments, positions, source)
        if segments[-1][0] == "ISA" and len(segments) > 1:
            # Re-read the new interchange from its ISA.
            pos = text.rfind("ISA", 0, cursor)
            position -= 1
    return interchanges


def _collect_transactions(
    interchange: Interchange, segments: list[list[str]], positions: list[int], source: str
) -> None:
    """Group segments into transactions and check GS/GE, ST/SE and IEA counts."""
    errors = interchange.errors
    version: str | None = None
    group_count = 0
    group_transactions = 0
    group_control: str | None = None
    current: Transaction | None = None
    isa_control = interchange.isa[13].strip() if len(interchange.isa) > 13 else ""
    isa_version = interchange.isa[12].strip() if len(interchange.isa) > 12 else ""
    if isa_version and isa_version < "00501":
        errors.append(
            UnsupportedVersionError(
                f"unsupported version {isa_version.ljust(6, '0')}",
                source=source,
                segment_index=positions[0],
                segment_id="ISA",
                expected=f"X12 {SUPPORTED_VERSION} (ISA12 00501)",
            )
        )
        return

    def err(message: str, i: int, expected: str | None = None) -> None:
        seg_id = segments[i][0] if segments[i] else None
        errors.append(
            X12Error(message, source=source, segment_index=positions[i], segment_id=seg_id, expected=expected)
        )

    for i, elements in enumerate(segments[1:], start=1):
        seg = elements[0]
        if current is not None:
            current.segments.append(elements)
            current.positions.append(positions[i])
            if seg == "SE":
                declared = elements[1] if len(elements) > 1 else ""
                if not declared.isdigit() or int(declared) != len(current.segments):
                    err(
                        f"SE01 says {declared or 'nothing'} segments but the transaction has "
                        f"{len(current.segments)}",
                        i,
                        expected=f"SE01 = {len(current.segments)}",
                    )
                elif len(elements) < 3 or elements[2] != current.control_number:
                    err(
                        "SE02 does not match ST02",
                        i,
                        expected=f"SE02 = {current.control_number}",
                    )
                else:
                    interchange.transactions.append(current)
                group_transactions += 1
                current = None
                continue
            elif seg in ("ST", "GE", "IEA", "GS"):
                err(
                    f"transaction {current.control_number} has no SE segment",
                    i,
                    expected="SE closing the ST at segment " + str(current.positions[0]),
                )
                current = None
                if seg != "ST":
                    continue
            else:
                continue
        if seg == "GS":
            version = elements[8] if len(elements) > 8 else None
            group_control = elements[6] if len(elements) > 6 else None
            group_transactions = 0
            group_count += 1
            if version and not version.startswith(SUPPORTED_VERSION):
                errors.append(
                    UnsupportedVersionError(
                        f"unsupported version {version[:6]}",
                        source=source,
                        segment_index=positions[i],
                        segment_id="GS",
                        expected=f"X12 {SUPPORTED_VERSION} (GS08 005010X222A2, 005010X223A3 or 005010X221A1)",
                    )
                )
                return
        elif seg == "ST":
            code = elements[1] if len(elements) > 1 else ""
            control = elements[2] if len(elements) > 2 else ""
            st_version = elements[3] if len(elements) > 3 and elements[3] else (version or "")
            if version is None:
                err("ST outside a functional group", i, expected="a GS segment before ST")
            current = Transaction(code, st_version, control, [elements], [positions[i]])
        elif seg == "GE":
            declared = elements[1] if len(elements) > 1 else ""
            if not declared.isdigit() or int(declared) != group_transactions:
                err(
                    f"GE01 says {declared or 'nothing'} transactions but the group has {group_transactions}",
                    i,
                    expected=f"GE01 = {group_transactions}",
                )
            if group_control is not None and (len(elements) < 3 or elements[2] != group_control):
                err("GE02 does not match GS06", i, expected=f"GE02 = {group_control}")
            version = None
        elif seg == "IEA":
            declared = elements[1] if len(elements) > 1 else ""
            if not declared.isdigit() or int(declared) != group_count:
                err(
                    f"IEA01 says {declared or 'nothing'} groups but the interchange has {group_count}",
                    i,
                    expected=f"IEA01 = {group_count}",
                )
            if len(elements) < 3 or elements[2].strip() != isa_control:
                err("IEA02 does not match ISA13", i, expected=f"IEA02 = {isa_control}")
        else:
            err(f"segment {seg or '(empty)'} outside a transaction", i, expected="ST, GS, GE or IEA")
    if current is not None:
        errors.append(
            X12Error(
                f"truncated transaction {current.control_number}: no SE segment",
                source=source,
                segment_index=current.positions[-1],
                segment_id=current.segments[-1][0],
                expected="SE closing the ST at segment " + str(current.positions[0]),
            )
        )
