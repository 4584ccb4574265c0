"""Datasets: a labeled line table (simulated or ingested) with its context, split by time.

A data folder holds ``lines.parquet`` (from ``denials ingest``, with outcome and label columns; or from
``denials simulate``, with ``outcomes.parquet`` beside it), optionally ``authorizations.parquet`` (the
authorizations on file) and ``truth.parquet`` (the simulator's true probabilities: the oracle). The
context columns (audit findings, authorization status; :mod:`features.context`) are computed once and
cached next to the data, keyed by the data's fingerprint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.context import CONTEXT_COLUMNS, annotate_frame

__all__ = ["DataError", "Dataset", "Split", "fingerprint", "load_dataset", "split_by_time"]

_KEYS = ["claim_id", "submission_date", "line_number"]


class DataError(ValueError):
    """A data folder that cannot be used; the message names the file and what was expected."""


@dataclass
class Dataset:
    """A labeled line table with context, and where it came from."""

    frame: pd.DataFrame
    source: str
    fingerprint: str
    has_truth: bool
    has_authorizations: bool


@dataclass
class Split:
    """Row masks of the time split and the dates that bound it."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    validation_start: dt.date
    test_start: dt.date
    period: tuple[dt.date, dt.date]

    def summary(self, frame: pd.DataFrame) -> dict[str, object]:
        dates = frame["submission_date"]
        out: dict[str, object] = {}
        for name in ("train", "validation", "test"):
            mask = getattr(self, name)
            part = dates[mask]
            out[name] = {
                "lines": int(mask.sum()),
                "from": str(part.min()) if len(part) else None,
                "to": str(part.max()) if len(part) else None,
                "denial_rate": round(float(frame["label_denied"][mask].mean()), 4) if mask.any() else None,
            }
        return out


def fingerprint(paths: list[Path]) -> str:
    """SHA-256 of the files' bytes (in order): identifies the data without storing it."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def load_dataset(folder: str | Path, *, n_jobs: int | None = None, cache: bool = True) -> Dataset:
    """The labeled lines of ``folder`` with their context columns (and the truth when simulated).

    Lines without an outcome yet (``label_denied`` null) are dropped: they cannot be trained or scored
    against. Rows are sorted by submission date (then claim id and line number).
    """
    folder = Path(folder)
    lines_path = folder / "lines.parquet"
    if not lines_path.is_file():
        raise DataError(f"{folder}: no lines.parquet (run `denials simulate` or `denials ingest` first)")
    parts = [lines_path]
    frame = pd.read_parquet(lines_path)
    outcomes_path = folder / "outcomes.parquet"
    if "label_denied" not in frame.columns:
        if not outcomes_path.is_file():
            raise DataError(f"{folder}: lines.parquet has no labels and there is no outcomes.parquet")
        parts.append(outcomes_path)
        outcomes = pd.read_parquet(outcomes_path)
        frame = frame.merge(outcomes, on=_KEYS, how="left", validate="one_to_one")
    if "member_key" not in frame.columns:
        raise DataError(f"{lines_path}: no member_key column (written by an older version; ingest again)")
    auth_path = folder / "authorizations.parquet"
    authorizations = None
    if auth_path.is_file():
        parts.append(auth_path)
        authorizations = pd.read_parquet(auth_path)
    truth_path = folder / "truth.parquet"
    has_truth = truth_path.is_file()
    if has_truth:
        truth = pd.read_parquet(truth_path, columns=[*_KEYS, "true_probability", "true_category"])
        frame = frame.merge(truth, on=_KEYS, how="left", validate="one_to_one")
    print_ = fingerprint(parts)
    context_path = folder / f".context-{print_[:16]}.parquet"
    if cache and context_path.is_file():
        context = pd.read_parquet(context_path)
        for name in CONTEXT_COLUMNS:
            frame[name] = context[name].to_numpy()
    else:
        frame = annotate_frame(frame, authorizations, n_jobs=n_jobs)
        if cache:
            frame[list(CONTEXT_COLUMNS)].to_parquet(context_path)
    frame = frame[frame["label_denied"].notna()]
    frame = frame.sort_values(["submission_date", "claim_id", "line_number"], kind="stable").reset_index(drop=True)
    frame["label_denied"] = frame["label_denied"].astype(bool)
    return Dataset(frame, str(folder), print_, has_truth, authorizations is not None)


def split_by_time(
    frame: pd.DataFrame, *, validation_fraction: float, test_fraction: float, known_outcomes_only: bool = True
) -> Split:
    """Train / validation / test by submission date: the latest ``test_fraction`` of lines are the test
    period, the ``validation_fraction`` before it the validation period, the rest training.

    With ``known_outcomes_only``, training lines whose outcome arrived on or after the validation start are
    dropped: on that day, a model trained then could not have known them.
    """
    if len(frame) == 0:
        raise DataError("no labeled lines to split")
    days = pd.to_datetime(frame["submission_date"]).to_numpy()
    ordered = np.sort(days)
    test_start = ordered[int(len(ordered) * (1 - test_fraction))]
    validation_start = ordered[int(len(ordered) * (1 - test_fraction - validation_fraction))]
    test = days >= test_start
    validation = (days >= validation_start) & ~test
    train = days < validation_start
    if known_outcomes_only and "outcome_received_date" in frame:
        received = pd.to_datetime(frame["outcome_received_date"]).to_numpy()
        train &= received < validation_start
    if not (train.any() and validation.any() and test.any()):
        raise DataError("the data covers too short a period for a train / validation / test split by date")

    def day(value: np.datetime64) -> dt.date:
        return pd.Timestamp(value).date()

    return Split(
        train, validation, test, day(validation_start), day(test_start), (day(ordered[0]), day(ordered[-1]))
    )
