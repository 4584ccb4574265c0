"""Plain predictions of the risk booster compiled to machine code by lleaves, checked against LightGBM.

LightGBM's own ``Booster.predict`` walks its trees in a generic interpreter: ~7 us a line for the
champion's 495 trees, a fifth of a batch worker's time. lleaves (an LLVM compiler for LightGBM models)
turns the same model text into native code that predicts the same raw scores ~9x faster. It is used for
the plain predictions only (the lines and every fix's re-score); explanations stay LightGBM's exact
TreeSHAP (``pred_contrib``), which lleaves does not compute.

Trust, not assume: before a compiled forest is used, it predicts a check matrix built from the model's own
split points (every threshold, the doubles just either side of it, every category a split names, NaN,
0, -1 and an unseen category) and must give LightGBM's raw scores to within :data:`TOLERANCE` (the trees
are summed in another order, so the last bits may differ; the responses round probabilities to 6
decimals). Otherwise, or if lleaves is missing or fails, scoring falls back to LightGBM and says why.

Compiling takes seconds (~3 s for 500 trees), so the native code is cached per model text, lleaves and
llvmlite versions and host CPU: ``<cache>/<digest>.so``, written atomically (several workers may compile
at once).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

__all__ = ["TOLERANCE", "CompiledForest", "check_matrix", "compile_forest"]

#: The largest difference from LightGBM's raw score (log-odds) a compiled forest may show on the check.
TOLERANCE = 1e-9
_CHECK_ROWS = 4096


@dataclass(frozen=True)
class CompiledForest:
    """A booster's first ``iterations`` trees as native code (raw scores, one thread)."""

    model: Any  # lleaves.Model, compiled
    path: Path  # the cached native code
    max_difference: float  # from LightGBM's raw scores on the check matrix

    def predict_raw(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(matrix, n_jobs=1))


def check_matrix(booster: lgb.Booster, rows: int = _CHECK_ROWS, seed: int = 0) -> np.ndarray:
    """Rows whose values sit on and around every split of ``booster``: each feature's value is drawn from
    its thresholds and their neighbouring doubles (numeric splits) or the categories its splits name plus
    an unseen one (categorical splits), NaN, 0, 1 and -1."""
    n_features = booster.num_feature()
    values: list[set[float]] = [set() for _ in range(n_features)]
    categorical = [False] * n_features
    stack = [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" not in node:
            continue
        feature = int(node["split_feature"])
        if node["decision_type"] == "==":
            categorical[feature] = True
            values[feature].update(float(v) for v in str(node["threshold"]).split("||"))
        else:
            t = float(node["threshold"])
            values[feature].update((t, float(np.nextafter(t, -np.inf)), float(np.nextafter(t, np.inf))))
        stack.extend((node["left_child"], node["right_child"]))
    rng = np.random.default_rng(seed)
    matrix = np.empty((rows, n_features))
    for feature in range(n_features):
        pool = [*sorted(values[feature]), np.nan, 0.0, 1.0, -1.0]
        if categorical[feature] and values[feature]:
            pool.append(max(values[feature]) + 1)
        matrix[:, feature] = rng.choice(np.array(pool), rows)
    return matrix


def _digest(model_text: str) -> str:
    import llvmlite.binding as llvm

    parts = [
        model_text,
        metadata.version("lleaves"),
        metadata.version("llvmlite"),
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def compile_forest(booster: lgb.Booster, iterations: int, cache: Path) -> CompiledForest:
    """Compile (or load from ``cache``) and check the first ``iterations`` trees of ``booster``.

    Raises ``RuntimeError`` (with the reason) when lleaves is missing, fails, or disagrees with LightGBM.
    """
    try:
        import lleaves
    except ImportError as e:
        raise RuntimeError(f"lleaves is not installed ({e})") from e
    model_text = booster.model_to_string(num_iteration=iterations)
    try:
        digest = _digest(model_text)
        cache.mkdir(parents=True, exist_ok=True)
        target = cache / f"{digest}.so"
        with tempfile.TemporaryDirectory(dir=cache, prefix=".compile-") as scratch:
            model_file = Path(scratch) / "model.txt"
            model_file.write_text(model_text)
            compiled = lleaves.Model(model_file=str(model_file))
            if target.is_file():
                compiled.compile(cache=str(target), raw_score=True)
            else:
                staged = Path(scratch) / "forest.so"
                compiled.compile(cache=str(staged), raw_score=True)
                os.replace(staged, target)
    except Exception as e:  # LLVM and file errors of many kinds: the caller falls back to LightGBM
        raise RuntimeError(f"lleaves could not compile the model ({type(e).__name__}: {e})") from e
    check = check_matrix(booster)
    expected = np.asarray(booster.predict(check, raw_score=True, num_iteration=iterations, num_threads=1))
    problem: str | None = None
    try:
        got = np.asarray(compiled.predict(check, n_jobs=1))
        difference = float(np.max(np.abs(expected - got)))
        if not np.isfinite(got).all() or not difference <= TOLERANCE:
            problem = (
                f"differs from LightGBM by {difference:.3g} on the check matrix (tolerance {TOLERANCE:g})"
            )
    except Exception as e:  # a native library that loads but cannot predict is refused like a wrong one
        problem = f"cannot predict ({type(e).__name__}: {e})"
    if problem is not None:
        target.unlink(missing_ok=True)
        raise RuntimeError(f"the compiled forest {problem}; not used")
    return CompiledForest(compiled, target, difference)
