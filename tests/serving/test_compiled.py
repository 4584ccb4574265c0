"""The compiled forest (lleaves) predicts what LightGBM predicts, is cached, and is refused when it does not."""

from __future__ import annotations

import sys
from pathlib import Path

import lleaves
import numpy as np
import pytest

from claims.samples import make_claim
from claims.simulate.engine import SimulationResult
from features.model import DenialModel
from serving import ModelScorer
from serving.compiled import TOLERANCE, check_matrix, compile_forest
from tests.serving.conftest import model_info


@pytest.fixture(scope="module")
def compiled_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compiled")


def _iterations(model: DenialModel) -> int:
    return int(model.best_iteration_)


def test_the_check_matrix_sits_on_every_split(serving_model: DenialModel) -> None:
    booster = serving_model.booster_
    matrix = check_matrix(booster)
    assert matrix.shape == (4096, booster.num_feature())
    splits = booster.trees_to_dataframe().dropna(subset=["split_feature"])
    names = booster.feature_name()
    numeric = splits[splits["decision_type"] == "<="]
    assert len(numeric) > 0
    for name, threshold in zip(numeric["split_feature"], numeric["threshold"], strict=True):
        column = matrix[:, names.index(name)]
        t = float(threshold)
        for value in (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)):
            assert (column == value).any(), (name, value)
    used = {names.index(n) for n in splits["split_feature"]}
    assert all(np.isnan(matrix[:, f]).any() for f in used)


def test_compiled_predictions_are_lightgbms(serving_model: DenialModel, compiled_cache: Path,
                                            small_practice: tuple[SimulationResult, Path]) -> None:  # fmt: skip
    booster, iterations = serving_model.booster_, _iterations(serving_model)
    forest = compile_forest(booster, iterations, compiled_cache)
    assert forest.path.is_file() and forest.path.parent == compiled_cache
    assert forest.max_difference <= TOLERANCE
    # On real feature rows (float32, as the scorer builds them) too.
    result, _ = small_practice
    claims = result.claims[:200]
    scorer = ModelScorer(serving_model, model_info(serving_model), salt="s")
    context, _ = scorer._annotate(claims, None)
    matrix = scorer._matrix(claims, [None] * len(claims), context)
    expected = booster.predict(matrix, raw_score=True, num_iteration=iterations, num_threads=1)
    np.testing.assert_allclose(forest.predict_raw(matrix), expected, rtol=0, atol=TOLERANCE)


def test_the_native_code_is_cached_per_model(
    serving_model: DenialModel, compiled_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    booster, iterations = serving_model.booster_, _iterations(serving_model)
    first = compile_forest(booster, iterations, compiled_cache)
    written = first.path.stat().st_mtime_ns

    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached forest is loaded, not compiled again")

    with monkeypatch.context() as patched:
        patched.setattr(lleaves.compiler, "compile_to_module", no_compile)
        again = compile_forest(booster, iterations, compiled_cache)
    assert again.path == first.path and again.path.stat().st_mtime_ns == written
    # Fewer trees are another model: another file.
    fewer = compile_forest(booster, iterations - 10, compiled_cache)
    assert fewer.path != first.path
    assert not list(compiled_cache.glob(".compile-*")), "no scratch folder is left behind"


def test_a_cached_forest_of_another_model_is_refused(
    serving_model: DenialModel, compiled_cache: Path, tmp_path: Path
) -> None:
    """A file under the right name holding other trees (a stale or corrupted cache) fails the check: it
    is deleted and the caller is told, instead of predicting wrong numbers."""
    booster, iterations = serving_model.booster_, _iterations(serving_model)
    other = compile_forest(booster, iterations - 20, compiled_cache)
    right = compile_forest(booster, iterations, tmp_path / "probe")
    target = tmp_path / "cache" / right.path.name
    target.parent.mkdir()
    target.write_bytes(other.path.read_bytes())
    with pytest.raises(RuntimeError, match="differs from LightGBM"):
        compile_forest(booster, iterations, target.parent)
    assert not target.exists()
    # The next load compiles afresh and passes.
    assert compile_forest(booster, iterations, target.parent).max_difference <= TOLERANCE


def test_the_scorer_falls_back_to_lightgbm_and_says_why(
    serving_model: DenialModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = ModelScorer(serving_model, model_info(serving_model), salt="s")
    assert scorer.predictor == "lightgbm"
    monkeypatch.setitem(sys.modules, "lleaves", None)  # import lleaves raises ImportError
    assert scorer.use_compiled(tmp_path) is False
    assert scorer.forest is None and scorer.predictor.startswith("lightgbm (lleaves is not installed")
    assert scorer.probe()


def test_compiled_and_lightgbm_scorers_give_the_same_scores(
    serving_model: DenialModel, compiled_cache: Path, small_practice: tuple[SimulationResult, Path]
) -> None:
    result, _ = small_practice
    claims = [make_claim(), *result.claims[:120]]
    plain = ModelScorer(serving_model, model_info(serving_model), salt="s")
    compiled = ModelScorer(serving_model, model_info(serving_model), salt="s")
    assert compiled.use_compiled(compiled_cache)
    assert compiled.predictor.startswith("lleaves (compiled")
    a = plain.score(claims, authorizations=[], explain="auto", fixes=True)
    b = compiled.score(claims, authorizations=[], explain="auto", fixes=True)
    assert [round(line.probability, 6) for r in a for line in r.lines] == [
        round(line.probability, 6) for r in b for line in r.lines
    ]
    assert [round(o.claim_risk_after, 6) for r in a for o in r.fixes] == [
        round(o.claim_risk_after, 6) for r in b for o in r.fixes
    ]
    assert sum(len(r.fixes) for r in a) > 0
    assert [[x.text for x in line.reasons or []] for r in a for line in r.lines] == [
        [x.text for x in line.reasons or []] for r in b for line in r.lines
    ]
