"""The only module that touches x12sdk: parse transactions into its pydantic models, write them back.

x12sdk parses each ST..SE transaction into a validated model (``HealthCareClaimProfessional``,
``HealthCareClaimInstitutional``, ``HealthCareClaimPayment``); :mod:`claims.x12.mapping` turns those into
domain objects and back. Two relaxations of x12sdk 2.2.0 live here, both where the library is stricter
than the implementation guide:

* 837I loop 2410 (drug identification): x12sdk requires its REF segment, which 005010X223A3 makes
  situational, so an ordinary hospital claim with LIN/CTP and no REF would be rejected. The relaxed models
  below make it optional.
* A subscriber HL whose child code (HL04) says dependents follow when none do makes x12sdk file the
  subscriber's claims under the previous patient. :func:`repair_hierarchy` sets HL04 from the hierarchy
  that is actually there before parsing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from x12sdk.io import write_transactions
from x12sdk.models import X12Delimiters, X12SegmentGroup
from x12sdk.parsing import X12ParseException, X12Parser, _load_loop_parsers, _load_segment_lookup
from x12sdk.support import count_segments
from x12sdk.v5010.x12_835_005010X221A1.transaction_set import HealthCareClaimPayment
from x12sdk.v5010.x12_837_005010X222A2.transaction_set import HealthCareClaimProfessional
from x12sdk.v5010.x12_837_005010X223A3 import loops as inst_loops
from x12sdk.v5010.x12_837_005010X223A3 import segments as inst_segments
from x12sdk.v5010.x12_837_005010X223A3.transaction_set import HealthCareClaimInstitutional

from claims.errors import X12Error
from claims.x12.envelope import Delimiters, Transaction

__all__ = [
    "IMPLEMENTATIONS",
    "Institutional837",
    "Professional837",
    "Remittance835",
    "locate",
    "parse_transaction",
    "repair_hierarchy",
    "write_interchange",
]


# --- relaxed 837I models (loop 2410 REF situational, as in 005010X223A3) -----------------------------


class _Loop2410(inst_loops.Loop2410):
    ref_segment: inst_segments.Loop2410RefSegment | None = None  # type: ignore[assignment]


class _Loop2400(inst_loops.Loop2400):
    loop_2410: _Loop2410 | None = None


class _Loop2300(inst_loops.Loop2300):
    loop_2400: list[_Loop2400]  # type: ignore[assignment]


class _Loop2000C(inst_loops.Loop2000C):
    loop_2300: list[_Loop2300] | None = None  # type: ignore[assignment]


class _Loop2000B(inst_loops.Loop2000B):
    loop_2300: list[_Loop2300] | None = None  # type: ignore[assignment]
    loop_2000c: list[_Loop2000C] | None = None  # type: ignore[assignment]


class _Loop2000A(inst_loops.Loop2000A):
    loop_2000b: list[_Loop2000B]  # type: ignore[assignment]


class _Institutional(HealthCareClaimInstitutional):
    loop_2000a: list[_Loop2000A]  # type: ignore[assignment]


# x12sdk's writer tells the transaction set by the package a model class lives in.
_Institutional.__module__ = HealthCareClaimInstitutional.__module__

Professional837 = HealthCareClaimProfessional
Institutional837 = _Institutional
Remittance835 = HealthCareClaimPayment

#: implementation guide prefix -> (transaction set code, model class, x12sdk implementation version)
IMPLEMENTATIONS: dict[str, tuple[str, type[Any], str]] = {
    "005010X222": ("837", Professional837, "005010X222A2"),
    "005010X223": ("837", Institutional837, "005010X223A3"),
    "005010X221": ("835", Remittance835, "005010X221A1"),
}


def _implementation(txn: Transaction, source: str) -> tuple[type[Any], str]:
    impl = IMPLEMENTATIONS.get(txn.version[:10])
    if impl is None or impl[0] != txn.code:
        raise X12Error(
            f"unsupported transaction set {txn.code or '(none)'} version {txn.version or '(none)'}",
            source=source,
            segment_index=txn.positions[0],
            segment_id="ST",
            expected="837 (005010X222A2 or 005010X223A3) or 835 (005010X221A1)",
        )
    return impl[1], impl[2]


def repair_hierarchy(segments: list[list[str]]) -> list[list[str]]:
    """Set each HL04 (has child) from the HL segments that actually follow.

    Clearinghouses accept a subscriber HL that says ``1`` (children follow) when none do; x12sdk then
    files the next claims under the wrong patient. HL04 is derived here from the HL02 parent ids.
    """
    parents = {seg[2] for seg in segments if seg[0] == "HL" and len(seg) > 2 and seg[2]}
    repaired: list[list[str]] = []
    for seg in segments:
        if seg[0] == "HL" and len(seg) > 4:
            has_child = "1" if seg[1] in parents else "0"
            if seg[4] != has_child:
                seg = [*seg[:4], has_child, *seg[5:]]
        repaired.append(seg)
    return repaired


def _readable_loc(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            if parts:
                parts[-1] += f"[{item + 1}]"
        elif item.startswith("loop_"):
            parts.append("loop " + item[5:].upper())
        elif item.endswith("_segment"):
            parts.append(item[: -len("_segment")].upper())
        else:
            parts.append(item)
    return " > ".join(parts)


#: Where each loop starts, and which segments end it (a later start of the same or a higher loop).
_LOOP_STARTS: dict[str, tuple[str, str | None, tuple[tuple[str, str | None], ...]]] = {
    # loop: (start segment, HL03 level code, segments that end it)
    "loop_2000a": ("HL", "20", (("HL", "20"),)),
    "loop_2000b": ("HL", "22", (("HL", "22"), ("HL", "20"))),
    "loop_2000c": ("HL", "23", (("HL", None),)),
    "loop_2300": ("CLM", None, (("CLM", None), ("HL", None))),
    "loop_2400": ("LX", None, (("LX", None), ("CLM", None), ("HL", None))),
    "loop_2410": ("LIN", None, (("LX", None), ("CLM", None), ("HL", None))),
    "loop_2000": ("LX", None, (("LX", None),)),
    "loop_2100": ("CLP", None, (("CLP", None), ("LX", None))),
    "loop_2110": ("SVC", None, (("SVC", None), ("CLP", None), ("LX", None))),
}


def _index_after(items: list[int | str], i: int) -> int:
    nxt = items[i + 1] if i + 1 < len(items) else 0
    return nxt if isinstance(nxt, int) else 0


def _is(seg: list[str], name: str, level: str | None) -> bool:
    return seg[0] == name and (level is None or (len(seg) > 3 and seg[3] == level))


def locate(loc: Sequence[int | str], segments: Sequence[list[str]]) -> int | None:
    """Index in ``segments`` of the segment a pydantic error location points at (best effort).

    ``("loop_2000a", 0, "loop_2000b", 1, "loop_2300", 0, "loop_2400", 2, "sv1_segment", ...)`` is the
    third LX of the first claim of the second subscriber; the named segment inside that loop is returned
    when it is there, else the loop's first segment (the segment is missing: the loop is where it belongs).
    """
    start, end = 0, len(segments)
    items = list(loc)
    found: int | None = None
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, str) and item in _LOOP_STARTS:
            name, level, enders = _LOOP_STARTS[item]
            index = _index_after(items, i)
            hits = [k for k in range(start, end) if _is(segments[k], name, level)]
            if index >= len(hits):
                return found
            start = hits[index]
            found = start
            end = next(
                (k for k in range(start + 1, end) if any(_is(segments[k], n, lv) for n, lv in enders)), end
            )
            i += 2
            continue
        if isinstance(item, str) and item.endswith("_segment"):
            name = item[: -len("_segment")].upper()
            index = _index_after(items, i)
            hits = [k for k in range(start, end) if segments[k][0] == name]
            return hits[index] if index < len(hits) else found
        i += 1
    return found


def _claim_range(loc: Sequence[int | str], segments: Sequence[list[str]]) -> tuple[int, int] | None:
    """The segment range of the claim (loop 2300) a pydantic error location points into, if any."""
    if "loop_2300" not in loc:
        return None
    cut = list(loc[: list(loc).index("loop_2300") + 2])
    start = locate(cut, segments)
    if start is None or segments[start][0] != "CLM":
        return None
    end = next(
        (k for k in range(start + 1, len(segments)) if segments[k][0] in ("CLM", "HL", "SE")), len(segments)
    )
    return start, end


def parse_transaction(
    txn: Transaction, delimiters: Delimiters, source: str
) -> tuple[Any, list[X12Error], list[int]]:
    """Parse one transaction with x12sdk.

    Returns ``(model, claim_errors, kept_positions)``. When x12sdk rejects a transaction because of one
    claim (the error points inside a loop 2300), that claim is reported and left out, and the rest of the
    transaction is parsed again, so that one bad claim does not cost the whole batch. Any other failure
    raises :class:`X12Error` with the segment position.
    """
    segments = repair_hierarchy(txn.segments) if txn.code == "837" else list(txn.segments)
    positions = list(txn.positions)
    claim_errors: list[X12Error] = []
    while True:
        try:
            return _parse(txn, segments, positions, delimiters, source), claim_errors, positions
        except _ClaimRejected as rejected:
            start, end = rejected.span
            claim_errors.append(rejected.error)
            del segments[start:end]
            del positions[start:end]
            segments[-1] = [segments[-1][0], str(len(segments)), *segments[-1][2:]]  # SE01 recount
            if not any(seg[0] == "CLM" for seg in segments):
                return None, claim_errors, positions


class _ClaimRejected(Exception):
    def __init__(self, error: X12Error, span: tuple[int, int]) -> None:
        super().__init__(error.one_line())
        self.error = error
        self.span = span


def _parse(
    txn: Transaction, segments: list[list[str]], positions: list[int], delimiters: Delimiters, source: str
) -> Any:
    model_class, version = _implementation(txn, source)
    parser = X12Parser(
        model_class,  # type: ignore[arg-type]  # x12sdk annotates a class as an instance
        _load_loop_parsers(txn.code, version),
        _load_segment_lookup(version),
        X12Delimiters(
            element_separator=delimiters.element,
            repetition_separator=delimiters.repetition,
            segment_terminator="~",
            component_separator=delimiters.component,
        ),
    )
    model: Any = None
    for elements, position in zip(segments, positions, strict=True):
        name = elements[0].upper()
        try:
            model = parser.parse(name, elements)
        except ValidationError as e:
            first = e.errors()[0]
            where = _readable_loc(first["loc"])
            hit = locate(first["loc"], segments) if name == "SE" else None
            error = X12Error(
                f"transaction {txn.control_number}: {where}: {first['msg'].removeprefix('Value error, ')}",
                source=source,
                segment_index=positions[hit] if hit is not None else position,
                segment_id=segments[hit][0] if hit is not None else name,
                expected="a segment layout that follows " + version,
            )
            span = _claim_range(first["loc"], segments) if name == "SE" else None
            if span is not None:
                raise _ClaimRejected(error, span) from e
            raise error from e
        except X12ParseException as e:
            raise X12Error(
                f"segment {name} has more elements than {version} allows",
                source=source,
                segment_index=position,
                segment_id=name,
                expected=f"the {name} layout of {version}",
            ) from e
        except (KeyError, AttributeError, IndexError, TypeError, ValueError) as e:
            raise X12Error(
                f"segment {name} is not expected here in a {txn.code} transaction",
                source=source,
                segment_index=position,
                segment_id=name,
                expected=f"the loop structure of {version}",
            ) from e
    if model is None:
        raise X12Error(
            f"transaction {txn.control_number} did not complete",
            source=source,
            segment_index=positions[-1],
            expected="an SE segment",
        )
    return model


_MODEL_BY_KIND: dict[str, type[Any]] = {
    "837P": Professional837,
    "837I": Institutional837,
    "835": Remittance835,
}


def build_model(kind: str, structure: dict[str, Any]) -> X12SegmentGroup:
    """Validate a transaction ``structure`` (nested dicts, x12sdk field names) into its x12sdk model.

    ``kind`` is ``837P``, ``837I`` or ``835``. The SE01 count is filled in here. (Bulk writing without
    x12sdk, from the domain objects directly, is :mod:`claims.x12.serializer`.)
    """
    model_class = _MODEL_BY_KIND[kind]
    control = structure["header"]["st_segment"]["transaction_set_control_number"]
    se = {"transaction_segment_count": 1, "transaction_set_control_number": control}
    structure["footer"] = dict(structure.get("footer", {}), se_segment=se)
    se["transaction_segment_count"] = count_segments(structure)  # SE01: every segment from ST through SE
    model: X12SegmentGroup = model_class(**structure)
    return model


def write_interchange(
    transactions: Iterable[X12SegmentGroup],
    *,
    sender_id: str,
    receiver_id: str,
    created: dt.datetime,
    control_number: int = 1,
) -> str:
    """Wrap transactions in GS/GE and ISA/IEA envelopes (x12sdk keeps the control counts consistent)."""
    text: str = write_transactions(
        list(transactions),
        sender_id=sender_id,
        receiver_id=receiver_id,
        created=created,
        interchange_control_number=str(control_number),
        group_control_number=str(control_number),
        usage_indicator="T",
    )
    return text if text.endswith("\n") else text + "\n"
