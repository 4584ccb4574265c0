"""Shared fixtures: paths to the committed X12 test files, and sample claims from the factories."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "x12" / "golden"
VARIATIONS = DATA / "x12" / "variations"


@pytest.fixture
def golden_dir() -> Path:
    return GOLDEN


@pytest.fixture
def variations_dir() -> Path:
    return VARIATIONS
