"""The label function: which adjustments deny a line, and the category they give."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claims.enums import AdjustmentGroup, DenialCategory
from claims.label import CONTRACTUAL_CARCS, label_line
from claims.model import Adjustment
from claims.reference import load_carcs

CO, OA, PI, PR = (
    AdjustmentGroup.CONTRACTUAL,
    AdjustmentGroup.OTHER,
    AdjustmentGroup.PAYER_INITIATED,
    AdjustmentGroup.PATIENT,
)


def adj(group: AdjustmentGroup, carc: str, amount: str = "100.00") -> Adjustment:
    return Adjustment(group=group, reason_code=carc, amount=Decimal(amount))


def test_paid_line_with_contractual_and_patient_share_is_not_denied() -> None:
    label = label_line([adj(CO, "45", "70"), adj(PR, "2", "56"), adj(CO, "253", "3.40"), adj(PR, "1", "240")])
    assert not label.denied and label.category is None


@pytest.mark.parametrize(
    ("adjustments", "remarks", "category"),
    [
        ([adj(CO, "197")], [], DenialCategory.AUTHORIZATION),
        ([adj(CO, "198")], ["N54"], DenialCategory.AUTHORIZATION),
        ([adj(CO, "50")], ["N115"], DenialCategory.MEDICAL_NECESSITY),
        ([adj(CO, "4")], ["N519"], DenialCategory.CODING_MODIFIER),
        ([adj(CO, "151")], ["N362"], DenialCategory.UNITS_MUE),
        ([adj(CO, "96")], ["N362"], DenialCategory.UNITS_MUE),  # a generic CARC refined by its RARC
        ([adj(CO, "97")], ["M15"], DenialCategory.BUNDLING),
        ([adj(CO, "107")], ["N122"], DenialCategory.BUNDLING),
        ([adj(CO, "96")], ["N789"], DenialCategory.NONCOVERED_TRIAL),
        ([adj(CO, "109")], [], DenialCategory.ELIGIBILITY),
        ([adj(OA, "18")], [], DenialCategory.DUPLICATE),
        ([adj(CO, "29")], [], DenialCategory.TIMELY_FILING),
        ([adj(CO, "16")], ["MA130"], DenialCategory.MISSING_INFORMATION),
        ([adj(CO, "16")], ["M119"], DenialCategory.CODING_MODIFIER),
    ],
)
def test_categories(adjustments: list[Adjustment], remarks: list[str], category: DenialCategory) -> None:
    label = label_line(adjustments, remarks)
    assert label.denied
    assert label.category is category


def test_every_denial_category_is_reachable_from_the_carc_table() -> None:
    reachable = {c.category for c in load_carcs().values() if c.category is not None}
    assert reachable | {DenialCategory.OTHER} == set(DenialCategory)


def test_unknown_carc_is_other_and_counted() -> None:
    label = label_line([adj(CO, "Z9")])
    assert label.denied and label.category is DenialCategory.OTHER
    assert label.unknown_codes == ("Z9",)


def test_patient_responsibility_is_never_a_denial() -> None:
    assert not label_line([adj(PR, "50", "900")]).denied  # PR-50: the ABN shifted liability to the patient


def test_zero_amount_adjustment_does_not_deny() -> None:
    assert not label_line([adj(CO, "197", "0")]).denied


def test_the_largest_denial_decides() -> None:
    label = label_line([adj(CO, "16", "10"), adj(CO, "197", "900"), adj(PI, "50", "900")])
    assert label.reason_code == "197" and label.category is DenialCategory.AUTHORIZATION
    assert label.denied_amount == pytest.approx(1810.0)


carc_codes = st.sampled_from([*sorted(load_carcs()), "Z9", "999"])
groups = st.sampled_from(list(AdjustmentGroup))
amounts = st.decimals(min_value=Decimal("-5000"), max_value=Decimal("5000"), places=2, allow_nan=False)
adjustment_lists = st.lists(
    st.builds(Adjustment, group=groups, reason_code=carc_codes, amount=amounts), max_size=8
)
remark_lists = st.lists(st.sampled_from(["N362", "M119", "N54", "N789", "MA130", "N122", "XX1"]), max_size=3)


@given(adjustment_lists, remark_lists)
def test_label_properties(adjustments: list[Adjustment], remarks: list[str]) -> None:
    label = label_line(adjustments, remarks)
    deciding = [
        a
        for a in adjustments
        if a.group is not PR and a.reason_code not in CONTRACTUAL_CARCS and a.amount != 0
    ]
    # denied exactly when a payer-side, non-contractual, non-zero adjustment exists
    assert label.denied == bool(deciding)
    # a denied line always has a category; a paid one never has
    assert (label.category is not None) == label.denied
    if label.denied:
        assert label.reason_code in {a.reason_code for a in deciding}
        assert label.denied_amount == pytest.approx(float(sum(abs(a.amount) for a in deciding)))
        known = load_carcs()
        assert set(label.unknown_codes) == {a.reason_code for a in deciding if a.reason_code not in known}
    # order of the remark codes only matters through the first refining one; adding PR lines never denies
    assert (
        label_line([*adjustments, Adjustment(group=PR, reason_code="2", amount=Decimal("1"))], remarks)
        == label
    )
