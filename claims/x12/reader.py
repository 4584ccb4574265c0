"""Read X12 837P/837I and 835 files into domain objects, reporting every problem by position.

Nothing is dropped silently: the raw CLM/SV1/SV2/CLP/SVC segments of each transaction are counted and
compared with what came back from x12sdk and the domain mapping; a claim that cannot be read is an error
in the report (file, segment index, what was expected), not a missing row. One bad transaction or claim
does not stop the rest of the file.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from claims.enums import ClaimForm
from claims.errors import ClaimsError, DomainValueError, X12Error
from claims.model import Claim, Remittance
from claims.x12 import mapping, wire
from claims.x12.envelope import Interchange, Transaction, decode, split_interchanges

__all__ = ["RAW_SEGMENTS", "X12Document", "read_x12"]

#: Segments whose raw counts are cross-checked against what was read.
RAW_SEGMENTS = ("CLM", "SV1", "SV2", "CLP", "SVC")


@dataclass
class X12Document:
    """What one X12 file held: claims, remittances, the problems found, and raw segment counts."""

    source: str
    claims: list[Claim] = field(default_factory=list)
    claim_positions: list[int] = field(default_factory=list)
    remittances: list[Remittance] = field(default_factory=list)
    errors: list[ClaimsError] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)
    transactions: int = 0
    raw_counts: Counter[str] = field(default_factory=Counter)

    @property
    def line_count(self) -> int:
        return sum(len(c.lines) for c in self.claims)

    @property
    def kinds(self) -> set[str]:
        found = set()
        if self.claims or self.raw_counts["CLM"]:
            found.add("837")
        if self.remittances or self.raw_counts["CLP"]:
            found.add("835")
        return found


def read_x12(data: bytes | str | Path, source: str | None = None) -> X12Document:
    """Read an X12 file (a path, its bytes, or its text).

    Returns an :class:`X12Document`; problems are in ``errors`` with their segment positions. A file that
    is not X12 at all (empty, binary, no ISA) gives a document with a single error.

    >>> doc = read_x12(Path("tests/data/x12/office_nsclc_pembrolizumab.837p"))  # doctest: +SKIP
    >>> len(doc.claims), doc.errors  # doctest: +SKIP
    (1, [])
    """
    if isinstance(data, Path):
        source = source or str(data)
        raw: bytes | str = data.read_bytes()
    else:
        raw = data
    source = source or "<input>"
    doc = X12Document(source=source)
    try:
        text = decode(raw, source) if isinstance(raw, bytes) else raw.lstrip("\ufeff")
        if not text.strip():
            raise X12Error("the file is empty", source=source, segment_index=1, expected="an ISA segment")
        interchanges = split_interchanges(text, source)
    except X12Error as e:
        doc.errors.append(e)
        return doc
    for interchange in interchanges:
        doc.errors.extend(interchange.errors)
        for txn in interchange.transactions:
            doc.transactions += 1
            _read_transaction(doc, interchange, txn, source)
    return doc


def _read_transaction(doc: X12Document, interchange: Interchange, txn: Transaction, source: str) -> None:
    doc.raw_counts.update(seg[0] for seg in txn.segments if seg[0] in RAW_SEGMENTS)
    try:
        model, claim_errors, kept = wire.parse_transaction(txn, interchange.delimiters, source)
    except X12Error as e:
        doc.errors.append(e)
        return
    doc.errors.extend(claim_errors)
    if model is None:
        return
    if len(kept) != len(txn.positions):  # claims x12sdk rejected were left out; check what remains
        kept_set = set(kept)
        txn = Transaction(
            txn.code,
            txn.version,
            txn.control_number,
            [seg for seg, pos in zip(txn.segments, txn.positions, strict=True) if pos in kept_set],
            kept,
        )
    counts = Counter(seg[0] for seg in txn.segments if seg[0] in RAW_SEGMENTS)
    component = interchange.delimiters.component
    if txn.code == "835":
        _read_835(doc, model, txn, counts, component, source)
    else:
        _read_837(doc, model, txn, counts, component, source)


def _read_837(
    doc: X12Document, model: object, txn: Transaction, counts: Counter[str], component: str, source: str
) -> None:
    form = ClaimForm.INSTITUTIONAL if txn.version.startswith("005010X223") else ClaimForm.PROFESSIONAL
    clm = [
        (pos, seg[1] if len(seg) > 1 else "")
        for seg, pos in zip(txn.segments, txn.positions, strict=True)
        if seg[0] == "CLM"
    ]
    bht = next((seg for seg in txn.segments if seg[0] == "BHT"), None)
    submission_date = _bht_date(bht)
    records = list(mapping.claim_records_837(model))
    indicators = mapping.subscriber_filing_indicators(model)
    read_ids = Counter(r.claim.clm_segment.patient_control_number for r in records)
    raw_ids = Counter(claim_id for _, claim_id in clm)
    if read_ids != raw_ids:
        missing = raw_ids - read_ids
        for pos, claim_id in clm:
            if missing[claim_id]:
                missing[claim_id] -= 1
                doc.errors.append(
                    X12Error(
                        f"claim {clm.index((pos, claim_id)) + 1} of transaction {txn.control_number} was not "
                        "returned by the X12 parser (it is not under a subscriber or patient HL)",
                        source=source,
                        segment_index=pos,
                        segment_id="CLM",
                        expected="every CLM inside a 2000B or 2000C hierarchical level",
                    )
                )
    positions = iter(pos for pos, _ in clm)
    lines_read = 0
    for index, (record, indicator) in enumerate(zip(records, indicators, strict=True), start=1):
        position = next(positions, txn.positions[0])
        lines_read += len(record.claim.loop_2400)
        try:
            claim = _claim(record, form, indicator, submission_date, component)
            if claim.submission_date is None and submission_date is not None:
                doc.warnings.append(
                    X12Error(
                        f"claim {index} of transaction {txn.control_number}: a service date is after "
                        "the BHT04 creation date; the submission date is left unknown",
                        source=source,
                        segment_index=position,
                        segment_id="CLM",
                    )
                )
        except DomainValueError as e:
            doc.errors.append(
                X12Error(
                    f"claim {index} of transaction {txn.control_number}: {e.field_path}: {e.message}",
                    source=source,
                    segment_index=position,
                    segment_id="CLM",
                )
            )
            continue
        doc.claims.append(claim)
        doc.claim_positions.append(position)
    raw_lines = counts["SV1"] + counts["SV2"]
    if lines_read != raw_lines:
        doc.errors.append(
            X12Error(
                f"the X12 parser returned {lines_read} service lines but transaction {txn.control_number} "
                f"holds {raw_lines} SV1/SV2 segments",
                source=source,
                segment_index=txn.positions[0],
                segment_id="ST",
                expected="every service line inside a claim",
            )
        )


def _claim(
    record: object, form: ClaimForm, indicator: str | None, submission_date: dt.date | None, component: str
) -> Claim:
    """Map a claim; a BHT04 date earlier than the services is dropped rather than losing the claim."""
    try:
        return mapping.claim_from_837(
            record,
            form=form,
            filing_indicator=indicator,
            submission_date=submission_date,
            component=component,
        )
    except DomainValueError as e:
        if submission_date is None or "after the submission_date" not in e.message:
            raise
    return mapping.claim_from_837(
        record, form=form, filing_indicator=indicator, submission_date=None, component=component
    )


def _bht_date(bht: list[str] | None) -> dt.date | None:
    if bht is None or len(bht) < 5 or len(bht[4]) != 8 or not bht[4].isdigit():
        return None
    try:
        return dt.date(int(bht[4][:4]), int(bht[4][4:6]), int(bht[4][6:]))
    except ValueError:
        return None


def _read_835(
    doc: X12Document, model: object, txn: Transaction, counts: Counter[str], component: str, source: str
) -> None:
    try:
        remittance = mapping.remittance_from_835(model, component=component)
    except (DomainValueError, ValueError) as e:
        detail = f"{e.field_path}: {e.message}" if isinstance(e, DomainValueError) else str(e).splitlines()[0]
        doc.errors.append(
            X12Error(
                f"remittance transaction {txn.control_number}: {detail}",
                source=source,
                segment_index=txn.positions[0],
                segment_id="ST",
            )
        )
        return
    claims_read = len(remittance.claims)
    lines_read = sum(len(c.lines) for c in remittance.claims)
    if claims_read != counts["CLP"] or lines_read != counts["SVC"]:
        doc.errors.append(
            X12Error(
                f"the X12 parser returned {claims_read} claims and {lines_read} service lines but "
                f"transaction {txn.control_number} holds {counts['CLP']} CLP and {counts['SVC']} SVC "
                "segments",
                source=source,
                segment_index=txn.positions[0],
                segment_id="ST",
                expected="every CLP inside a 2000 loop and every SVC inside a claim",
            )
        )
    doc.remittances.append(remittance)
