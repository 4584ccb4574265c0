"""Golden tests: the simulator's correct-coding generator reproduces oncology-billing.md 2.4 exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from claims.simulate.coding import (
    InfusionEvent,
    additional_hours,
    administration_codes,
    choose_vials,
    drug_lines,
)

DAY = dt.date(2026, 2, 3)


def _codes(lines: list) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    return [(a.code, a.units) for a in lines]


def test_worked_example_office_nsclc_carbo_pem_pembro() -> None:
    """Premeds dexamethasone + palonosetron IV push, fosaprepitant 30-min infusion; pembrolizumab 30 min,
    pemetrexed 10 min, carboplatin 30 min -> 96413, 96411, 96417, 96375 x2, 96367."""
    events = [
        InfusionEvent("J1100", False, "iv_push"),
        InfusionEvent("J2469", False, "iv_push"),
        InfusionEvent("J1453", False, "iv_infusion", 30),
        InfusionEvent("J9271", True, "iv_infusion", 30),
        InfusionEvent("J9305", True, "iv_infusion", 10),
        InfusionEvent("J9045", True, "iv_infusion", 30),
    ]
    admin = administration_codes(events)
    assert _codes(admin) == [("96413", 1), ("96411", 1), ("96417", 1), ("96375", 2), ("96367", 1)]
    assert admin[0].drugs == ("J9271",)  # pembrolizumab is the initial service
    expected = {
        ("J9271", Decimal(200)): [(200, ("JZ",))],  # two 100-mg vials, no waste
        ("J9305", Decimal(1000)): [(100, ("JZ",))],  # two 500-mg vials
        ("J9045", Decimal(700)): [(14, ())],  # multiple-dose vial: neither JW nor JZ
        ("J2469", Decimal(250)): [(10, ("JZ",))],
        ("J1453", Decimal(150)): [(150, ("JZ",))],
        ("J1100", Decimal(12)): [(12, ("JZ",))],
    }
    for (code, dose), lines in expected.items():
        assert [(d.units, d.modifiers) for d in drug_lines(code, dose, DAY)] == lines, code


def test_worked_example_pemetrexed_with_waste() -> None:
    """A 950-mg pemetrexed dose from two 500-mg vials: J9305 x95 plus J9305 x5 JW."""
    lines = drug_lines("J9305", Decimal(950), DAY)
    assert [(d.code, d.units, d.modifiers) for d in lines] == [("J9305", 95, ()), ("J9305", 5, ("JW",))]


def test_worked_example_folfox_bevacizumab_day_1() -> None:
    """Oxaliplatin 2 h (96413 + 96415), leucovorin concurrent 2 h (96368), bevacizumab 30 min (96417),
    5-FU bolus (96411), 46-h pump (96416, or G0498 for Medicare with an office pump), premeds (96375)."""
    events = [
        InfusionEvent("J1100", False, "iv_push"),
        InfusionEvent("J9263", True, "iv_infusion", 120),
        InfusionEvent("J0640", False, "iv_infusion", 120, concurrent=True),
        InfusionEvent("J9035", True, "iv_infusion", 30),
        InfusionEvent("J9190", True, "iv_push"),
        InfusionEvent("J9190", True, "iv_infusion", pump_hours=46),
    ]
    codes = _codes(administration_codes(events))
    assert codes[0] == ("96413", 1)
    assert sorted(codes) == sorted([("96413", 1), ("96415", 1), ("96368", 1), ("96417", 1), ("96411", 1),
                                    ("96416", 1), ("96375", 1)])  # fmt: skip
    medicare = _codes(administration_codes(events, office_pump_code="G0498"))
    assert ("G0498", 1) in medicare and ("96416", 1) not in medicare


def test_hierarchy_puts_chemo_first_whatever_the_order() -> None:
    events = [
        InfusionEvent("J2405", False, "iv_infusion", 30),
        InfusionEvent("J9201", True, "iv_infusion", 30),
    ]
    assert _codes(administration_codes(events)) == [("96413", 1), ("96367", 1)]


def test_non_chemo_day_and_hydration() -> None:
    events = [InfusionEvent("J2405", False, "iv_push"), InfusionEvent("J1200", False, "iv_push")]
    assert _codes(administration_codes(events)) == [("96374", 1), ("96375", 1)]
    assert _codes(administration_codes([], hydration_minutes=150)) == [("96360", 1), ("96361", 1)]
    chemo = [InfusionEvent("J9060", True, "iv_infusion", 60)]
    assert _codes(administration_codes(chemo, hydration_minutes=120)) == [("96413", 1), ("96361", 2)]
    assert _codes(administration_codes(chemo, hydration_minutes=30)) == [
        ("96413", 1)
    ]  # <= 30 min: not billed


def test_injections_are_outside_the_hierarchy() -> None:
    events = [
        InfusionEvent("J9144", True, "sc"),
        InfusionEvent("J9041", True, "sc"),
        InfusionEvent("J2506", False, "sc"),
    ]
    assert _codes(administration_codes(events)) == [("96401", 2), ("96372", 1)]


@pytest.mark.parametrize(
    ("minutes", "extra"), [(16, 0), (60, 0), (90, 0), (91, 1), (150, 1), (151, 2), (300, 4)]
)
def test_additional_hour_threshold(minutes: int, extra: int) -> None:
    assert additional_hours(minutes) == extra


def test_vials_least_waste_then_fewest() -> None:
    assert choose_vials((10, 50), 100) == (50, 50)
    assert choose_vials((4, 10, 20, 120), 12) == (4, 4, 4)
    assert choose_vials((100,), 150) == (100, 100)


def test_jz_not_required_before_july_2023() -> None:
    early = dt.date(2023, 3, 1)
    assert drug_lines("J9271", Decimal(200), early, use_jz_before_required=False)[0].modifiers == ()
    assert drug_lines("J9271", Decimal(200), dt.date(2023, 7, 1), use_jz_before_required=False)[
        0
    ].modifiers == ("JZ",)
