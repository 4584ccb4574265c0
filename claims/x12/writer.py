"""Write domain claims as X12 837P/837I and remittances as X12 835 (the simulator emits real files).

Output is deterministic: the same objects and ``created`` timestamp give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from claims.enums import ClaimForm
from claims.model import Claim, Remittance
from claims.x12 import mapping, serializer, wire

__all__ = ["write_835", "write_837"]

#: Implementation guides recommend at most 5,000 claims per 837 transaction.
MAX_CLAIMS_PER_TRANSACTION = 5000


def write_837(
    claims: Sequence[Claim],
    *,
    created: dt.datetime,
    sender_id: str = "ONCPRACTICE",
    receiver_id: str = "CLEARINGHOUSE",
    receiver_name: str = "CLEARINGHOUSE",
    submitter_name: str = "ONCOLOGY PRACTICE",
    control_number: int = 1,
    validate: bool = True,
) -> str:
    """One interchange holding ``claims``: one 837 transaction per form and submission date.

    Claims without a submission date are written with ``created``'s date in BHT04.

    ``validate=True`` (the reference) builds and validates x12sdk transaction models and lets x12sdk write
    them. ``validate=False`` writes the same bytes directly from the domain objects
    (:mod:`claims.x12.serializer`, dozens of times faster): only for claims that are already valid domain
    objects, such as the simulator's.

    >>> text = write_837([claim], created=dt.datetime(2026, 1, 5, 12, 0))  # doctest: +SKIP
    """
    if not claims:
        raise ValueError("write_837 needs at least one claim")
    if not validate:
        return serializer.serialize_837(
            claims, created=created, sender_id=sender_id, receiver_id=receiver_id,
            receiver_name=receiver_name, submitter_name=submitter_name, control_number=control_number,
            max_claims_per_transaction=MAX_CLAIMS_PER_TRANSACTION,
        )  # fmt: skip
    batches: dict[tuple[ClaimForm, dt.date], list[Claim]] = defaultdict(list)
    for claim in claims:
        batches[(claim.form, claim.submission_date or created.date())].append(claim)
    models = []
    number = 0
    for (form, submitted), batch in sorted(batches.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
        for start in range(0, len(batch), MAX_CLAIMS_PER_TRANSACTION):
            number += 1
            structure = mapping.structure_837(
                batch[start : start + MAX_CLAIMS_PER_TRANSACTION],
                control_number=f"{number:04d}",
                submitter_name=submitter_name,
                receiver_name=receiver_name,
                receiver_id=receiver_id,
                created=submitted,
            )
            kind = "837P" if form is ClaimForm.PROFESSIONAL else "837I"
            models.append(wire.build_model(kind, structure))
    return wire.write_interchange(
        models, sender_id=sender_id, receiver_id=receiver_id, created=created, control_number=control_number
    )


def write_835(
    remittances: Sequence[Remittance],
    *,
    created: dt.datetime,
    sender_id: str = "PAYER",
    receiver_id: str = "ONCPRACTICE",
    control_number: int = 1,
    validate: bool = True,
) -> str:
    """One interchange holding one 835 transaction per remittance (``validate`` as in :func:`write_837`)."""
    if not remittances:
        raise ValueError("write_835 needs at least one remittance")
    if not validate:
        return serializer.serialize_835(
            remittances,
            created=created,
            sender_id=sender_id,
            receiver_id=receiver_id,
            control_number=control_number,
        )
    models = [
        wire.build_model("835", mapping.structure_835(r, control_number=f"{i:04d}"))
        for i, r in enumerate(remittances, start=1)
    ]
    return wire.write_interchange(
        models, sender_id=sender_id, receiver_id=receiver_id, created=created, control_number=control_number
    )
