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
from x12sdk.support import count_segments
from x12sdk.parsing import X12ParseException, X12Parser, _load_loop_parsers, _load_segment_lookup
from x12sdk.v5010.x12_835_005010X221A1.transaction_set import HealthCareClaimPayment
from x12sdk.v5010.x12_837_005010X222A2.transaction_set import HealthCareClaimProfessional
from x12sdk.v5010.x12_837_005010X223A3 import loops as inst_loops
from x12sdk.v5010.x12_837_005010X223A3 import segments as inst_segments
from x12sdk.v5010.x12_837_005010X223A3.transaction_set import HealthCareClaimInstitutional

from claims.errors import X12Error
from claims.x12.envelope import Delimiters, Transaction

__all__ = [
    "IMPLEMENTATIONS",
    "Professional837",
    "Institutional837",
    "Remittance835",
    "parse_transaction",
    "repair_hierarchy",
    "write_interchange",
]


# --- relaxed 837I models (loop 2410 REF situational, as in 005010X223A3) -----------------------------


class _Loop2410(inst_loops.Loop2410):
    ref_segment: inst_segments.Loop2410RefSegment | None = None  # type: ignore[assignment]


class _Loop2400(inst_loops.Loop2400):
    loop_2410: _Loop2410 | None = None  # type: ignore[assignment]


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
IMPLEMENTATIONS: dict[str, tuple[str, type[X12SegmentGroup], str]] = {
    "005010X222": ("837", Professional837, "005010X222A2"),
    "005010X223": ("837", Institutional837, "005010X223A3"),
    "005010X221": ("835", Remittance835, "005010X221A1"),
}


def _implementation(txn: Transaction, source: str) -> tuple[type[X12SegmentGroup], str]:
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


def parse_transaction(txn: Transaction, delimiters: Delimiters, source: str) -> Any:
    """Parse one transaction with x12sdk; raise :class:`X12Error` with the segment position on failure."""
    model_class, version = _implementation(txn, source)
    parser = X12Parser(
        model_class,
        _load_loop_parsers(txn.code, version),
        _load_segment_lookup(version),
        X12Delimiters(
            element_separator=delimiters.element,
            repetition_separator=delimiters.repetition,
            segment_terminator="~",
            component_separator=delimiters.component,
        ),
    )
    segments = repair_hierarchy(txn.segments) if txn.code == "837" else txn.segments
    model: Any = None
    for elements, position in zip(segments, txn.positions, strict=True):
        name = elements[0].upper()
        try:
            model = parser.parse(name, elements)
        except ValidationError as e:
            first = e.errors()[0]
            where = _readable_loc(first["loc"])
            raise X12Error(
                f"transaction {txn.control_number} rejected at {where}: {first['msg']}",
                source=source,
                segment_index=txn.positions[0] if name == "SE" else position,
                segment_id="ST" if name == "SE" else name,
                expected="a segment layout that follows " + version,
            ) from e
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
            segment_index=txn.positions[-1],
            expected="an SE segment",
        )
    return model


def build_model(kind: str, structure: dict[str, Any]) -> X12SegmentGroup:
    """Validate a transaction ``structure`` (nested dicts, x12sdk field names) into its x12sdk model.

    ``kind`` is ``837P``, ``837I`` or ``835``. The SE01 count is filled in here.
    """
    model_class: type[X12SegmentGroup] = {
        "837P": Professional837,
        "837I": Institutional837,
        "835": Remittance835,
    }[kind]
    control = structure["header"]["st_segment"]["transaction_set_control_number"]
    se = {"transaction_segment_count": 1, "transaction_set_control_number": control}
    structure["footer"] = dict(structure.get("footer", {}), se_segment=se)
    se["transaction_segment_count"] = count_segments(structure)  # SE01: every segment from ST through SE
    return model_class(**structure)


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
