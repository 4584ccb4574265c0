"""Shared fixtures: paths to the committed X12 test files, and sample claims from the factories.

Property tests run a fixed set of examples by default (``derandomize``): a red build then always means a
changed code path, never a newly drawn example. ``HYPOTHESIS_PROFILE=explore make test`` draws new examples
on every run (``make test-explore``: for a scheduled job or a bug hunt; keep what it finds as an
``@example`` or a regression test).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from claims.simulate import SimulationConfig, simulate_practice, write_simulation
from claims.simulate.engine import SimulationResult

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "x12" / "golden"
VARIATIONS = DATA / "x12" / "variations"

hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def golden_dir() -> Path:
    return GOLDEN


@pytest.fixture
def variations_dir() -> Path:
    return VARIATIONS


@pytest.fixture(scope="session")
def small_practice(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    """600 claims (about 4,000 lines) over 2023-2025, written as Parquet tables (built once per session)."""
    result = simulate_practice(SimulationConfig(claims=600, seed=3))
    folder = tmp_path_factory.mktemp("practice")
    write_simulation(result, folder)
    return result, folder


@pytest.fixture(scope="session")
def trained_practice(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path, object]:
    """3,000 claims (about 20,000 lines) and a DenialModel trained on them (no capacity sweep)."""
    from features.model import DenialModel
    from training.dataset import load_dataset, split_by_time

    result = simulate_practice(SimulationConfig(claims=3000, seed=21))
    folder = tmp_path_factory.mktemp("trained")
    write_simulation(result, folder)
    frame = load_dataset(folder).frame
    split = split_by_time(frame, validation_fraction=0.15, test_fraction=0.2)
    model = DenialModel(n_estimators=300, min_child_samples=20, min_code_count=5, reason_estimators=60)
    model.fit(frame[split.train], eval_frame=frame[split.validation])
    return result, folder, model
