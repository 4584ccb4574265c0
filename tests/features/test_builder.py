"""The feature builder: one implementation for the batch and the single claim, nothing from the 835."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from claims.ingest import SUBMITTED_COLUMNS
from claims.simulate.engine import SimulationResult
from features import CONTEXT_COLUMNS, INPUT_COLUMNS, LineFeatureBuilder, catalogue_markdown
from features.context import authorizations_from_frame
from training.dataset import load_dataset

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def frame(small_practice: tuple[SimulationResult, Path]) -> pd.DataFrame:
    return load_dataset(small_practice[1], cache=False).frame


@pytest.fixture(scope="module")
def builder(frame: pd.DataFrame) -> LineFeatureBuilder:
    return LineFeatureBuilder(min_code_count=5).fit(frame)


def test_catalogue_names_the_matrix_columns(builder: LineFeatureBuilder, frame: pd.DataFrame) -> None:
    matrix = builder.transform(frame)
    names = list(builder.get_feature_names_out())
    assert matrix.shape == (len(frame), len(names))
    assert len(set(names)) == len(names)
    assert [s.name for s in builder.feature_specs_] == names
    assert all(s.meaning and s.group and s.known.startswith("at submission") for s in builder.feature_specs_)


def test_no_feature_reads_an_835_column(builder: LineFeatureBuilder) -> None:
    allowed = set(SUBMITTED_COLUMNS) | set(CONTEXT_COLUMNS)
    for spec in builder.feature_specs_:
        assert set(spec.sources) <= allowed, spec.name
        assert not any(s.startswith(("outcome_", "label_")) for s in spec.sources), spec.name
    assert not any(c.startswith(("outcome_", "label_", "true_")) for c in INPUT_COLUMNS)


def test_transform_ignores_outcomes_and_truth(builder: LineFeatureBuilder, frame: pd.DataFrame) -> None:
    scrambled = frame.copy()
    rng = np.random.default_rng(0)
    for column in frame.columns:
        if column.startswith(("outcome_", "label_", "true_")):
            scrambled[column] = rng.permutation(frame[column].to_numpy())
    np.testing.assert_array_equal(builder.transform(frame), builder.transform(scrambled))
    dropped = frame[[c for c in frame.columns if not c.startswith(("outcome_", "label_", "true_"))]]
    np.testing.assert_array_equal(builder.transform(frame), builder.transform(dropped))


def test_history_uses_only_outcomes_received_before_submission(frame: pd.DataFrame) -> None:
    """Flip every label received on or after a cut-off: rows submitted up to the cut-off keep their features."""
    cut = dt.date(2024, 6, 1)
    flipped = frame.copy()
    later = pd.to_datetime(frame["outcome_received_date"]) >= pd.Timestamp(cut)
    flipped.loc[later, "label_denied"] = ~frame.loc[later, "label_denied"].astype(bool)
    flipped.loc[later, "label_category"] = "authorization"
    a, b = LineFeatureBuilder().fit(frame), LineFeatureBuilder().fit(flipped)
    early = (pd.to_datetime(frame["submission_date"]) <= pd.Timestamp(cut)).to_numpy()
    history = [i for i, n in enumerate(a.get_feature_names_out()) if str(n).startswith("hist_")]
    assert early.sum() > 100 and later.sum() > 100
    np.testing.assert_array_equal(
        a.transform(frame)[early][:, history], b.transform(flipped)[early][:, history]
    )
    assert not np.array_equal(
        a.transform(frame)[~early][:, history], b.transform(flipped)[~early][:, history]
    )


def _keyed_claims(result: SimulationResult, claims: list) -> list:
    """The claims with the hashed member ids the line table stores, so both paths see the same
    authorizations."""
    from claims.ingest import submitted_columns

    columns = submitted_columns(claims, salt=result.config.id_salt)
    return [c.model_copy(update={"patient": c.patient.model_copy(update={"member_id": k})})
            for c, k in zip(claims, _first_per_claim(columns["member_key"], claims), strict=True)]  # fmt: skip


def _one_at_a_time(builder: LineFeatureBuilder, claims: list, auths: list, salt: str) -> list[np.ndarray]:
    """Each claim's matrix from the scoring path, each claim seeing the ones before it as submitted."""
    from claims.ingest import submitted_columns
    from features.context import annotate_claims

    rows = []
    earlier: list = []
    for claim in claims:
        one = submitted_columns([claim], salt=salt)
        one_context, _ = annotate_claims([claim], authorizations=auths, submitted=earlier)
        earlier.append(claim)
        rows.append(builder.transform_columns({**one, **one_context}))
    return rows


def test_batch_and_single_claim_paths_give_identical_matrices(
    small_practice: tuple[SimulationResult, Path], builder: LineFeatureBuilder
) -> None:
    """The training path (line table -> DataFrame -> transform) and the scoring path (claims -> column lists
    -> transform_columns, one claim at a time) give the same matrix, bit for bit."""
    from claims.ingest import submitted_columns
    from features.context import annotate_claims

    result, folder = small_practice
    auths = authorizations_from_frame(pd.read_parquet(folder / "authorizations.parquet"))
    salt = result.config.id_salt
    keyed = _keyed_claims(result, result.claims[:120])
    context, _ = annotate_claims(keyed, authorizations=auths)
    batch = pd.DataFrame({**submitted_columns(keyed, salt=salt), **context})
    whole = builder.transform(batch)
    np.testing.assert_array_equal(whole, np.vstack(_one_at_a_time(builder, keyed, auths, salt)))


def test_values_remembered_for_small_inputs_change_nothing(
    small_practice: tuple[SimulationResult, Path], frame: pd.DataFrame
) -> None:
    """The scoring path remembers per-value results between calls: scoring again (from memory, in another
    order), after a pickle round trip (which drops the memory) or after a refit gives what a fresh builder
    gives."""
    import pickle

    result, folder = small_practice
    auths = authorizations_from_frame(pd.read_parquet(folder / "authorizations.parquet"))
    salt = result.config.id_salt
    keyed = _keyed_claims(result, result.claims[-60:])  # late: the refit below changes their history
    builder = LineFeatureBuilder(min_code_count=5).fit(frame)
    first = _one_at_a_time(builder, keyed, auths, salt)
    assert builder.__dict__.get("_memos"), "the scoring path remembered nothing"
    again = _one_at_a_time(builder, keyed, auths, salt)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    copy = pickle.loads(pickle.dumps(builder))
    assert not copy.__dict__.get("_memos")
    for a, b in zip(first, _one_at_a_time(copy, keyed, auths, salt), strict=True):
        np.testing.assert_array_equal(a, b)
    # refitted on less history (different vocabularies and rates): as fresh as a new builder
    half = frame[frame["submission_date"] < frame["submission_date"].quantile(0.5)]
    builder.fit(half)
    fresh = LineFeatureBuilder(min_code_count=5).fit(half)
    refitted = _one_at_a_time(builder, keyed, auths, salt)
    for a, b in zip(refitted, _one_at_a_time(fresh, keyed, auths, salt), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, refitted, strict=True))


def _first_per_claim(values: list[str], claims: list) -> list[str]:
    out, position = [], 0
    for claim in claims:
        out.append(values[position])
        position += len(claim.lines)
    return out


def test_the_committed_feature_catalogue_is_current(builder: LineFeatureBuilder) -> None:
    committed = (ROOT / "docs" / "feature-catalogue.md").read_text()
    assert catalogue_markdown(builder.feature_specs_) in committed, "run scripts/build_feature_catalogue.py"
