"""A small seeded simulated practice, shared by the feature and training tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.simulate import SimulationConfig, simulate_practice, write_simulation
from claims.simulate.engine import SimulationResult


@pytest.fixture(scope="session")
def small_practice(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    """600 claims (about 4,000 lines) over 2023-2025, written as Parquet tables."""
    result = simulate_practice(SimulationConfig(claims=600, seed=3))
    folder = tmp_path_factory.mktemp("practice")
    write_simulation(result, folder)
    return result, folder
