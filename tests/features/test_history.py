"""Point-in-time history counts: only outcomes received strictly before the day count."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from features.history import PointInTimeRates, smoothed_rate


def test_counts_only_earlier_outcomes() -> None:
    rates = PointInTimeRates().fit(np.array([0, 0, 0, 1]), np.array([10, 20, 20, 5]), np.array([1, 0, 1, 1]))
    outcomes, denials = rates.counts(np.array([0, 0, 0, 1, 1, -1]), np.array([10, 20, 21, 5, 6, 99]))
    assert outcomes.tolist() == [0, 1, 3, 0, 1, 0]
    assert denials.tolist() == [0, 1, 2, 0, 1, 0]


def test_smoothed_rate_is_the_prior_without_history() -> None:
    assert smoothed_rate(np.array([0.0]), np.array([0.0]), 0.2, 30.0).tolist() == [0.2]
    assert smoothed_rate(np.array([1000.0]), np.array([500.0]), 0.2, 30.0)[0] > 0.49


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 60), st.booleans()), max_size=40),
    st.lists(st.tuples(st.integers(-1, 5), st.integers(0, 70)), min_size=1, max_size=20),
)
def test_counts_match_brute_force(
    events: list[tuple[int, int, bool]], queries: list[tuple[int, int]]
) -> None:
    keys = np.array([e[0] for e in events], dtype=np.int64)
    days = np.array([e[1] for e in events], dtype=np.int64)
    denied = np.array([e[2] for e in events], dtype=np.float64)
    rates = PointInTimeRates().fit(keys, days, denied)
    outcomes, denials = rates.counts(np.array([q[0] for q in queries]), np.array([q[1] for q in queries]))
    for (key, day), n, d in zip(queries, outcomes, denials, strict=True):
        before = [e for e in events if e[0] == key and e[1] < day]
        assert n == len(before)
        assert d == sum(e[2] for e in before)
