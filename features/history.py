"""Point-in-time history: how often a payer denied a code (or a class, or anything) **before** a date.

Outcomes arrive 2-8 weeks after submission, so a line submitted on day *d* may only learn from outcomes
*received* before *d*. :class:`PointInTimeRates` stores the labeled events of a key (e.g. payer x HCPCS code)
sorted by received day, with running sums, and answers ``(key, day)`` queries with a binary search: the
number of outcomes and of denials received strictly before ``day``. The same arrays answer a million
training rows and one claim at scoring time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PointInTimeRates", "query_groups", "smoothed_rate"]

#: Days fit in 17 bits (day numbers since 1970 stay below 131,072 until the year 2328).
_DAY_BITS = 17


class PointInTimeRates:
    """Counts of outcomes and denials per key received before a day.

    ``fit`` takes integer keys (>= 0), the day each outcome was received and whether it was a denial;
    ``counts(keys, days)`` returns, per query, ``(outcomes, denials)`` received strictly before the day.
    Keys < 0 (unknown) get zeros.

    >>> rates = PointInTimeRates().fit(np.array([0, 0, 1]), np.array([10, 20, 15]), np.array([1, 0, 1]))
    >>> rates.counts(np.array([0, 0, 1, -1]), np.array([20, 21, 15, 30]))
    (array([1., 2., 0., 0.]), array([1., 1., 0., 0.]))
    """

    def fit(self, keys: np.ndarray, days: np.ndarray, denied: np.ndarray) -> PointInTimeRates:
        keep = keys >= 0
        stamp = (keys[keep].astype(np.int64) << _DAY_BITS) | days[keep].astype(np.int64)
        order = np.argsort(stamp, kind="stable")
        self.stamps_ = stamp[order]
        self.cum_denied_ = np.concatenate([[0.0], np.cumsum(denied[keep][order].astype(np.float64))])
        return self

    def counts(
        self, keys: np.ndarray, days: np.ndarray, grouping: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(outcomes, denials) received strictly before each query's day; ``grouping`` is
        :func:`query_groups` of the same ``keys`` and ``days`` when the caller already has it."""
        known = keys >= 0
        distinct, inverse = grouping if grouping is not None else query_groups(keys, days)
        lo = np.searchsorted(self.stamps_, (distinct >> _DAY_BITS) << _DAY_BITS, side="left")
        hi = np.searchsorted(self.stamps_, distinct, side="left")
        outcomes = np.where(known, (hi - lo)[inverse], 0).astype(np.float64)
        denials = np.where(known, (self.cum_denied_[hi] - self.cum_denied_[lo])[inverse], 0.0)
        return outcomes, denials


def query_groups(keys: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (key, day) stamps of the queries and, per query, the index of its stamp.

    Many lines share a key and a day: each distinct one is searched once (in a big batch; a small one
    searches every query).
    """
    k = np.where(keys >= 0, keys, 0).astype(np.int64)
    query = (k << _DAY_BITS) | days.astype(np.int64)
    if len(query) > 256:
        distinct, inverse = np.unique(query, return_inverse=True)
        return distinct, inverse.reshape(-1)
    return query, np.arange(len(query))


def smoothed_rate(
    outcomes: np.ndarray, denials: np.ndarray, prior: float | np.ndarray, weight: float
) -> np.ndarray:
    """``(denials + weight * prior) / (outcomes + weight)``: the prior when nothing is known yet."""
    return (denials + weight * np.asarray(prior)) / (outcomes + weight)
