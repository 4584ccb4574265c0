"""The label: is a claim line denied, and why (product.md section 4).

A line is **denied** when a payer-side adjustment (group CO, OA or PI) with a non-zero amount carries a
denial reason: any CARC other than the contractual and routine ones (45 charge over the fee schedule,
253 sequestration, 23 prior-payer impact, 94 processed in excess of charges). Patient-share adjustments
(group PR: deductible 1, coinsurance 2, copay 3) are never denials.

The **category** comes from the CARC table (``claims/reference/data/carc.csv``); for generic CARCs
(16, 96, 97, ...) whose meaning depends on the paired remark code, a RARC's category hint refines it
(CO-96 + N362 is a units/MUE denial, CO-16 + M119 an NDC coding problem). A CARC the table does not know
falls into ``other`` and is reported in ``unknown_codes`` so that callers can count it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from claims.enums import AdjustmentGroup, DenialCategory
from claims.model import Adjustment

__all__ = ["CONTRACTUAL_CARCS", "PAYER_GROUPS", "LineLabel", "label_line"]

#: CARCs that adjust payment without denying the service (product.md section 4).
CONTRACTUAL_CARCS = frozenset({"45", "253", "23", "94"})
#: Adjustment groups on the payer's side; PR is the patient's share.
PAYER_GROUPS = frozenset(
    {AdjustmentGroup.CONTRACTUAL, AdjustmentGroup.OTHER, AdjustmentGroup.PAYER_INITIATED}
)


class _CarcLike(Protocol):
    @property
    def category(self) -> DenialCategory | None: ...
    @property
    def refine_by_rarc(self) -> bool: ...


class _RarcLike(Protocol):
    @property
    def category_hint(self) -> DenialCategory | None: ...


@dataclass(frozen=True, slots=True)
class LineLabel:
    """The label of one line: ``denied``, its ``category`` and the adjustment that decided it."""

    denied: bool
    category: DenialCategory | None
    reason_code: str | None = None
    group: AdjustmentGroup | None = None
    denied_amount: float = 0.0
    unknown_codes: tuple[str, ...] = ()


NOT_DENIED = LineLabel(denied=False, category=None)


def label_line(
    adjustments: Sequence[Adjustment],
    remark_codes: Iterable[str] = (),
    *,
    carcs: Mapping[str, _CarcLike] | None = None,
    rarcs: Mapping[str, _RarcLike] | None = None,
) -> LineLabel:
    """Label a line from its 835 adjustments (CAS) and remark codes (LQ*HE / MOA).

    The deciding adjustment is the denial with the largest amount (the first of equals).

    >>> from decimal import Decimal
    >>> from claims.model import Adjustment
    >>> label_line([Adjustment(group="CO", reason_code="197", amount=Decimal("9000"))]).category
    <DenialCategory.AUTHORIZATION: 'authorization'>
    >>> label_line([Adjustment(group="CO", reason_code="45", amount=Decimal("10"))]).denied
    False
    """
    denials = [
        a
        for a in adjustments
        if a.group in PAYER_GROUPS and a.reason_code not in CONTRACTUAL_CARCS and a.amount != 0
    ]
    if not denials:
        return NOT_DENIED
    if carcs is None or rarcs is None:
        from claims.reference import load_carcs, load_rarcs

        carcs = load_carcs() if carcs is None else carcs
        rarcs = load_rarcs() if rarcs is None else rarcs
    deciding = max(denials, key=lambda a: abs(a.amount))  # max() keeps the first of equals
    unknown = tuple(sorted({a.reason_code for a in denials if a.reason_code not in carcs}))
    carc = carcs.get(deciding.reason_code)
    category = carc.category if carc is not None and carc.category is not None else DenialCategory.OTHER
    if carc is not None and carc.refine_by_rarc:
        for code in remark_codes:
            rarc = rarcs.get(code)
            if rarc is not None and rarc.category_hint is not None:
                category = rarc.category_hint
                break
    return LineLabel(
        denied=True,
        category=category,
        reason_code=deciding.reason_code,
        group=deciding.group,
        denied_amount=float(sum(abs(a.amount) for a in denials)),
        unknown_codes=unknown,
    )
