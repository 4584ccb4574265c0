"""``DenialModel``: the trained artifact, one scikit-learn estimator from claim lines to calibrated risk.

It holds the fitted :class:`~features.builder.LineFeatureBuilder`, a LightGBM binary booster (denied or
not, early-stopped on the validation period), a calibrator fitted on the validation period (isotonic or
Platt), and a LightGBM multiclass booster over the denial categories trained on denied lines. Training
(``training``) and scoring (``serving``) both use this class, so features are built by the same code.

``predict_proba(frame)`` is the scikit-learn face (what MLflow's sklearn flavour calls);
:meth:`DenialModel.score_matrix` is the fast path: the matrix in, calibrated probabilities, raw scores
and reason probabilities out; :meth:`DenialModel.contributions` gives LightGBM's exact TreeSHAP
(``pred_contrib``) per feature, in log-odds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from claims.audit import Finding
from claims.ingest import submitted_columns
from claims.model import Authorization, Claim
from claims.policy import PayerPolicy
from features.builder import LineFeatureBuilder
from features.context import annotate_claims

__all__ = ["DenialModel", "LineScores"]


def _early_stopping(rounds: int) -> Callable[..., Any]:
    callback: Callable[..., Any] = lgb.early_stopping(rounds, verbose=False)
    return callback


@dataclass
class LineScores:
    """Scores of a batch of lines."""

    probability: np.ndarray  # calibrated denial probability
    raw: np.ndarray  # booster margin (log-odds) before calibration
    reasons: np.ndarray  # (lines, categories) probability of each category given a denial


class DenialModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Line table -> calibrated denial probability and likely category.

    Parameters are LightGBM's (``num_leaves``, ``max_depth``, ``learning_rate``, ``n_estimators`` as the
    cap for early stopping, ...), the builder's, the calibration method (``isotonic``, ``sigmoid`` or
    ``none``) and ``random_state``. ``fit(train, y, eval_frame=validation)`` early-stops and calibrates on
    ``eval_frame``; without it, it uses the last 15% of ``train`` by submission date.
    """

    def __init__(
        self,
        *,
        num_leaves: int = 31,
        max_depth: int = -1,
        learning_rate: float = 0.05,
        n_estimators: int = 600,
        min_child_samples: int = 50,
        feature_fraction: float = 0.8,
        bagging_fraction: float = 0.8,
        lambda_l2: float = 1.0,
        early_stopping_rounds: int = 40,
        calibration: str = "sigmoid",
        monotone: bool = True,
        reason_estimators: int = 400,
        reason_num_leaves: int = 15,
        reason_learning_rate: float = 0.1,
        min_code_count: int = 20,
        history_weight: float = 30.0,
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.lambda_l2 = lambda_l2
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.monotone = monotone
        self.reason_estimators = reason_estimators
        self.reason_num_leaves = reason_num_leaves
        self.reason_learning_rate = reason_learning_rate
        self.min_code_count = min_code_count
        self.history_weight = history_weight
        self.random_state = random_state
        self.n_jobs = n_jobs

    # --- fitting ------------------------------------------------------------------------------------------

    def _params(self) -> dict[str, Any]:
        return {
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1 if self.bagging_fraction < 1 else 0,
            "lambda_l2": self.lambda_l2,
            "seed": self.random_state,
            "num_threads": self.n_jobs,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def fit(self, X: pd.DataFrame, y: Any = None, *, eval_frame: pd.DataFrame | None = None) -> DenialModel:
        if eval_frame is None:
            cut = X["submission_date"].quantile(0.85) if len(X) else None
            later = (X["submission_date"] >= cut).to_numpy()
            X, eval_frame = X[~later], X[later]
        y_train = np.asarray(X["label_denied"] if y is None else y, dtype=np.float64)
        y_eval = eval_frame["label_denied"].to_numpy(dtype=np.float64)
        self.builder_ = LineFeatureBuilder(
            min_code_count=self.min_code_count, history_weight=self.history_weight
        )
        self.builder_.fit(X)
        train_matrix = self.builder_.transform(X)
        eval_matrix = self.builder_.transform(eval_frame)
        categorical = self.builder_.categorical_features_
        names = [str(n) for n in self.builder_.get_feature_names_out()]
        train_set = lgb.Dataset(
            train_matrix, y_train, feature_name=names, categorical_feature=categorical, free_raw_data=True
        )
        eval_set = lgb.Dataset(eval_matrix, y_eval, reference=train_set)
        # What the audit flags (and units over the limit, late submission) may only raise the risk: a biller
        # who fixes a finding must never see the risk go up because of it.
        monotone = [spec.monotone if self.monotone else 0 for spec in self.builder_.feature_specs_]
        params = {
            **self._params(),
            "objective": "binary",
            "metric": "binary_logloss",
            "monotone_constraints": monotone,
            "monotone_constraints_method": "advanced",
        }
        self.booster_ = lgb.train(
            params,
            train_set,
            num_boost_round=self.n_estimators,
            valid_sets=[eval_set],
            callbacks=[_early_stopping(self.early_stopping_rounds)],
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.n_estimators)
        raw_eval = np.asarray(
            self.booster_.predict(eval_matrix, raw_score=True, num_iteration=self.best_iteration_)
        )
        self._fit_calibration(raw_eval, y_eval)
        self._fit_reasons(X, train_matrix, eval_frame, eval_matrix, names, categorical)
        self.classes_ = np.array([False, True])
        self.n_features_in_ = train_matrix.shape[1]
        return self

    def _fit_calibration(self, raw: np.ndarray, y: np.ndarray) -> None:
        self.calibrator_: IsotonicRegression | LogisticRegression | None = None
        if self.calibration == "isotonic":
            self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        elif self.calibration == "sigmoid":
            self.calibrator_ = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)
        elif self.calibration != "none":
            raise ValueError(f"calibration must be isotonic, sigmoid or none, not {self.calibration!r}")

    def _fit_reasons(
        self,
        X: pd.DataFrame,
        train_matrix: np.ndarray,
        eval_frame: pd.DataFrame,
        eval_matrix: np.ndarray,
        names: list[str],
        categorical: list[int],
    ) -> None:
        denied = X["label_denied"].fillna(False).to_numpy(dtype=bool)
        categories = X["label_category"].astype(object).to_numpy()
        self.categories_ = sorted({str(c) for c in categories[denied]})
        self.reason_booster_: lgb.Booster | None = None
        if len(self.categories_) < 2:
            return
        index = {c: i for i, c in enumerate(self.categories_)}
        y = np.array([index[str(c)] for c in categories[denied]], dtype=np.float64)
        eval_denied = eval_frame["label_denied"].fillna(False).to_numpy(dtype=bool)
        eval_categories = eval_frame["label_category"].astype(object).to_numpy()[eval_denied]
        keep = np.array([str(c) in index for c in eval_categories], dtype=bool)
        y_eval = np.array([index[str(c)] for c in eval_categories[keep]], dtype=np.float64)
        params = {
            **self._params(),
            "objective": "multiclass",
            "num_class": len(self.categories_),
            "metric": "multi_logloss",
            # Every line of every request is scored by it: a small capacity, chosen once (configs/default.yaml).
            "num_leaves": self.reason_num_leaves,
            "learning_rate": self.reason_learning_rate,
            "max_depth": -1,
            "min_child_samples": 20,
        }
        train_set = lgb.Dataset(train_matrix[denied], y, feature_name=names, categorical_feature=categorical)
        valid = (
            [lgb.Dataset(eval_matrix[eval_denied][keep], y_eval, reference=train_set)] if len(y_eval) else []
        )
        callbacks = [_early_stopping(20)] if valid else []
        self.reason_booster_ = lgb.train(
            params, train_set, num_boost_round=self.reason_estimators, valid_sets=valid, callbacks=callbacks
        )

    # --- scoring ------------------------------------------------------------------------------------------

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from booster margins."""
        if isinstance(self.calibrator_, IsotonicRegression):
            return np.asarray(self.calibrator_.predict(raw), dtype=np.float64)
        if isinstance(self.calibrator_, LogisticRegression):
            return np.asarray(self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1], dtype=np.float64)
        return np.asarray(1.0 / (1.0 + np.exp(-raw)), dtype=np.float64)

    def score_matrix(self, matrix: np.ndarray, *, reasons: bool = True) -> LineScores:
        """Calibrated probability, margin and category probabilities of the rows of a feature matrix."""
        raw = np.asarray(self.booster_.predict(matrix, raw_score=True, num_iteration=self.best_iteration_))
        if reasons and self.reason_booster_ is not None:
            reason = np.asarray(self.reason_booster_.predict(matrix)).reshape(len(matrix), -1)
        else:
            reason = np.zeros((len(matrix), len(self.categories_)))
        return LineScores(self.calibrate(raw), raw, reason)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions (log-odds) per feature, last column the expected value."""
        return np.asarray(
            self.booster_.predict(matrix, pred_contrib=True, num_iteration=self.best_iteration_)
        )

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The feature matrix of a line table."""
        return self.builder_.transform(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.score_matrix(self.builder_.transform(X), reasons=False).probability
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.predict_proba(X)[:, 1] >= 0.5)

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per line: ``denial_probability``, ``denial_category`` and ``category_probability``."""
        scores = self.score_matrix(self.builder_.transform(X))
        frame = pd.DataFrame({"denial_probability": scores.probability}, index=X.index)
        if len(self.categories_) and scores.reasons.shape[1]:
            best = scores.reasons.argmax(axis=1)
            frame["denial_category"] = np.array(self.categories_, dtype=object)[best]
            frame["category_probability"] = scores.reasons[np.arange(len(best)), best]
        return frame

    def claim_matrix(
        self,
        claims: Sequence[Claim],
        *,
        authorizations: Iterable[Authorization] | None = (),
        submitted: Sequence[Claim] = (),
        payers: Mapping[str, PayerPolicy] | None = None,
        salt: str = "",
    ) -> tuple[np.ndarray, list[list[Finding]]]:
        """The feature matrix of ``claims`` (their lines in order) and each claim's audit findings: the
        scoring path, from claims to arrays without a DataFrame."""
        columns: dict[str, list[Any]] = submitted_columns(claims, salt=salt)
        context, findings = annotate_claims(
            claims, payers=payers, authorizations=authorizations, submitted=submitted
        )
        columns.update(context)
        return self.builder_.transform_columns(columns), findings

    @property
    def feature_names_(self) -> list[str]:
        return [str(n) for n in self.builder_.get_feature_names_out()]
