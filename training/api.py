"""The data scientist's API: the functions the ``denials`` CLI calls, plus scoring, explaining and fixing
single claims, each usable in a notebook in a line or two.

A session, end to end (the notebooks in ``notebooks/`` are longer versions of it)::

    from training import api

    folder = api.simulate_data("data/notebooks", claims=1000)           # or a folder from `denials ingest`
    dataset = api.load_dataset(folder)                                 # labeled lines + point-in-time context
    split = api.split_by_time(dataset.frame, validation_fraction=0.15, test_fraction=0.2)
    train, validation, test = (dataset.frame[m] for m in (split.train, split.validation, split.test))
    model = api.fit_model(train, validation, api.quick_config())      # features + LightGBM + calibration
    evaluation = api.evaluate_against_baselines(model, train, test)   # baselines and, when simulated, oracle
    result = api.train_model(folder, api.quick_config(), api.Profile(), promote=True)  # logged to MLflow
    champion = api.load_model("models:/oncology-denials@champion")

    claims, overrides = api.claims_from_lines(test[test["claim_id"] == "C000123"])
    [scored] = api.score_claims(model, claims, overrides=overrides,
                                authorizations=api.load_authorizations(folder))
    api.explain(model, scored)                                         # contributions per line and group
    report = api.apply_fixes_and_rescore(model, scored, authorizations=api.load_authorizations(folder))

Scoring here works on the features level (:meth:`features.model.DenialModel` and the coding audit): each
claim is audited on its own, as the scoring service does; it never imports the service. MLflow stays behind
:mod:`training.tracking`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from claims.audit import Finding, apply_fix
from claims.ingest import ingest, submitted_columns
from claims.model import Authorization, Claim
from claims.simulate import SimulationConfig, simulate_practice, write_simulation
from features.catalogue import GROUP_TEXT
from features.context import annotate_claims, authorizations_from_frame, claims_from_frame, payers_by_id
from features.model import DenialModel
from training.config import Profile, TrainingConfig, load_config, load_profile
from training.dataset import Dataset, Split, load_dataset, split_by_time
from training.evaluate import Evaluation, evaluate_model
from training.tracking import champion_version, configure, load_model, run_metrics, tracking_uri_for
from training.train import TrainingResult, baseline_scores, train_model

__all__ = [
    "ClaimScore",
    "Dataset",
    "Evaluation",
    "FixReport",
    "Profile",
    "Split",
    "TrainingConfig",
    "TrainingResult",
    "apply_fixes_and_rescore",
    "champion_version",
    "claims_from_lines",
    "configure",
    "evaluate_against_baselines",
    "explain",
    "fit_model",
    "ingest",
    "load_authorizations",
    "load_config",
    "load_dataset",
    "load_model",
    "load_profile",
    "notebook_data",
    "quick_config",
    "run_metrics",
    "score_claims",
    "simulate_data",
    "split_by_time",
    "tracking_uri_for",
    "train_model",
]

#: Columns of the line table that a claim object does not carry (rebuilt claims have no birth date).
_LINE_ONLY = ("patient_age", "is_dependent")


# --- data -------------------------------------------------------------------------------------------------


def simulate_data(
    folder: str | Path, *, claims: int = 1000, seed: int = 0, x12: bool = True, overwrite: bool = False
) -> Path:
    """Simulate a practice into ``folder`` (the tables ``denials simulate`` writes, and with ``x12`` the
    monthly 837/835 files under ``folder/x12``) unless it already holds ``lines.parquet``; return it.

    >>> folder = simulate_data("data/notebooks", claims=500)  # doctest: +SKIP
    >>> sorted(p.name for p in folder.glob("*.parquet"))  # doctest: +SKIP
    ['authorizations.parquet', 'lines.parquet', 'outcomes.parquet', 'truth.parquet']
    """
    folder = Path(folder)
    if overwrite or not (folder / "lines.parquet").is_file():
        write_simulation(simulate_practice(SimulationConfig(claims=claims, seed=seed)), folder, x12=x12)
    return folder


def notebook_data(*, claims: int = 3000, seed: int = 1) -> Path:
    """The notebooks' data folder: ``DENIALS_NOTEBOOK_DATA`` if set, else ``data/notebooks`` in the project
    (the nearest folder up from the working directory with a ``pyproject.toml``; git-ignored); simulated
    there (with X12 files) on first use.

    >>> folder = notebook_data()  # doctest: +SKIP
    """
    given = os.environ.get("DENIALS_NOTEBOOK_DATA")
    if given:
        folder = Path(given)
    else:
        here = Path.cwd().resolve()
        root = next((p for p in (here, *here.parents) if (p / "pyproject.toml").is_file()), here)
        folder = root / "data" / "notebooks"
    return simulate_data(folder, claims=claims, seed=seed, x12=True)


def load_authorizations(folder: str | Path) -> list[Authorization] | None:
    """The authorizations on file (``folder/authorizations.parquet``); ``None`` when the folder has none,
    which the audit reads as *unknown* (not as "no authorization on file").

    >>> auths = load_authorizations("data/notebooks")  # doctest: +SKIP
    """
    path = Path(folder) / "authorizations.parquet"
    if not path.is_file():
        return None
    return authorizations_from_frame(pd.read_parquet(path))


def claims_from_lines(frame: pd.DataFrame) -> tuple[list[Claim], list[dict[str, Any]]]:
    """The claims of some rows of a line table, in order of first appearance, and for each the column
    values a claim object cannot carry (``patient_age``, ``is_dependent``: the table keeps no birth date).
    Pass both to :func:`score_claims`.

    >>> claims, overrides = claims_from_lines(dataset.frame.head(20))  # doctest: +SKIP
    """
    frame = frame.sort_values(["submission_date", "claim_id", "line_number"], kind="stable")
    claims = claims_from_frame(frame)
    firsts = frame.drop_duplicates(["claim_id", "submission_date"])
    overrides = [
        {name: _plain(row[name]) for name in _LINE_ONLY if name in firsts.columns}
        for _, row in firsts.iterrows()
    ]
    return claims, overrides


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# --- training and evaluation ------------------------------------------------------------------------------


def quick_config(**overrides: Any) -> TrainingConfig:
    """A small, fast training config for notebooks and tests: fewer trees, no capacity sweep, one thread
    (two notebooks running at once on two cores would otherwise fight over OpenMP threads).
    ``overrides`` are top-level sections or fields, e.g. ``quick_config(seed=3)``.

    >>> quick_config().model.n_estimators
    80
    """
    data: dict[str, Any] = {
        "model": {"n_estimators": 80, "min_child_samples": 20, "min_code_count": 5, "reason_estimators": 40},
        "capacity": {"enabled": False},
        "n_jobs": 1,
    }
    data.update(overrides)
    return TrainingConfig.model_validate(data)


def fit_model(
    train: pd.DataFrame, validation: pd.DataFrame, config: TrainingConfig | None = None
) -> DenialModel:
    """Build the feature pipeline and fit it with LightGBM (early-stopped and calibrated on
    ``validation``) and the reason model: what :func:`train_model` fits, without MLflow.

    >>> model = fit_model(train, validation, quick_config())  # doctest: +SKIP
    >>> model.predict_frame(test.head(3)).columns.tolist()  # doctest: +SKIP
    ['denial_probability', 'denial_category', 'category_probability']
    """
    config = config or load_config()
    params = {**config.model.model_dump(), "random_state": config.seed, "n_jobs": config.n_jobs}
    return DenialModel(**params).fit(train, eval_frame=validation)


def evaluate_against_baselines(
    model: DenialModel, train: pd.DataFrame, test: pd.DataFrame, *, seed: int = 0
) -> Evaluation:
    """Metrics of ``model`` on ``test`` beside the baselines fitted on ``train`` (payer prior, audit rules
    alone, logistic regression on the same features) and, when the frame has the simulator's truth, the
    oracle; with slices per payer and drug class. What ``denials evaluate`` prints.

    >>> evaluation = evaluate_against_baselines(model, train, test)  # doctest: +SKIP
    >>> evaluation.metrics["model"]["roc_auc"] > evaluation.metrics["payer_prior"]["roc_auc"]  # doctest: +SKIP
    True
    """
    return evaluate_model(model, test, baselines=baseline_scores(model, train, test, seed))


# --- scoring, explaining, fixing --------------------------------------------------------------------------


@dataclass
class ClaimScore:
    """A claim as scored: per line the risk and likely reason, the claim's audit findings, and the feature
    matrix of its lines (for :func:`explain`)."""

    claim: Claim
    lines: pd.DataFrame  # line_number, procedure_code, modifiers, units, charge, probability, category, ...
    findings: list[Finding]
    matrix: np.ndarray
    overrides: Mapping[str, Any]

    @property
    def risk(self) -> float:
        """Probability that at least one line is denied, lines taken as independent: ``1 - prod(1 - p)``."""
        return float(1.0 - np.prod(1.0 - self.lines["probability"].to_numpy(dtype=np.float64)))

    @property
    def expected_denied(self) -> float:
        """Expected denied dollars: ``sum(p x line charge)``."""
        return float((self.lines["probability"] * self.lines["charge"]).sum())


def _score_one(
    model: DenialModel,
    claim: Claim,
    overrides: Mapping[str, Any],
    authorizations: Sequence[Authorization] | None,
    payers: Mapping[str, Any],
) -> ClaimScore:
    columns = submitted_columns([claim], salt="")
    context, findings = annotate_claims([claim], payers=payers, authorizations=authorizations)
    columns.update(context)
    for name, value in overrides.items():
        columns[name] = [value] * len(claim.lines)
    matrix = model.builder_.transform_columns(columns)
    scores = model.score_matrix(matrix)
    lines = pd.DataFrame(
        {
            "line_number": [line.line_number for line in claim.lines],
            "procedure_code": [line.procedure_code for line in claim.lines],
            "modifiers": [" ".join(line.modifiers) for line in claim.lines],
            "units": [float(line.units) for line in claim.lines],
            "charge": [float(line.charge) for line in claim.lines],
            "probability": scores.probability,
            "audit_rules": context["audit_rules"],
            "auth_status": context["auth_status"],
        }
    )
    if len(model.categories_) and scores.reasons.shape[1]:
        best = scores.reasons.argmax(axis=1)
        lines["category"] = np.array(model.categories_, dtype=object)[best]
        lines["category_probability"] = scores.reasons[np.arange(len(best)), best]
    return ClaimScore(claim, lines, findings[0], matrix, dict(overrides))


def score_claims(
    model: DenialModel,
    claims: Sequence[Claim],
    *,
    authorizations: Sequence[Authorization] | None = (),
    overrides: Sequence[Mapping[str, Any]] | None = None,
) -> list[ClaimScore]:
    """Audit and score each claim on its own, as it would be submitted today.

    ``authorizations``: those on file (the audit keeps the ones for the claim's payer and member,
    requested by its submission date); ``None`` when unknown. ``overrides``: per claim, column values
    to use on every line instead of the ones computed from the claim (see :func:`claims_from_lines`).

    >>> [scored] = score_claims(model, [make_claim()])  # doctest: +SKIP
    >>> scored.lines[["line_number", "procedure_code", "probability", "category"]]  # doctest: +SKIP
    """
    payers = payers_by_id()
    extra = list(overrides) if overrides is not None else [{}] * len(claims)
    if len(extra) != len(claims):
        raise ValueError(f"{len(claims)} claims but {len(extra)} overrides")
    auths = list(authorizations) if authorizations is not None else None
    return [_score_one(model, c, o, auths, payers) for c, o in zip(claims, extra, strict=True)]


def explain(
    model: DenialModel,
    scored: ClaimScore,
    *,
    by: Literal["group", "feature"] = "group",
    line_number: int | None = None,
) -> pd.DataFrame:
    """Why each line scores as it does: exact TreeSHAP contributions (log-odds) of the risk model, summed
    per explanation group (``by="group"``, phrased with :data:`features.catalogue.GROUP_TEXT`) or per
    feature (with the feature's value), largest first within each line.

    Each line's rows start with ``base`` (the model's average margin); base plus the contributions is the
    line's margin, which the calibration turns into its probability (``model.calibrate``).

    >>> explain(model, scored, line_number=3).head()  # doctest: +SKIP
       line_number          name                            text  value  contribution
    0            3          base      the model's average (log-odds)    NaN     -2.31
    1            3  authorization           prior authorization    NaN      1.84
    """
    contributions = model.contributions(scored.matrix)
    specs = model.builder_.feature_specs_
    rows: list[dict[str, Any]] = []
    for index, number in enumerate(scored.lines["line_number"]):
        if line_number is not None and number != line_number:
            continue
        values = contributions[index]
        rows.append({"line_number": int(number), "name": "base", "text": "the model's average (log-odds)",
                     "value": math.nan, "contribution": float(values[-1])})  # fmt: skip
        if by == "group":
            per_group: dict[str, float] = {}
            for spec, value in zip(specs, values[:-1], strict=True):
                per_group[spec.group] = per_group.get(spec.group, 0.0) + float(value)
            items = [(g, GROUP_TEXT.get(g, g), math.nan, v) for g, v in per_group.items()]
        else:
            row = scored.matrix[index]
            items = [(s.name, s.meaning, float(row[i]), float(values[i])) for i, s in enumerate(specs)]
        items.sort(key=lambda item: -abs(item[3]))
        rows.extend(
            {"line_number": int(number), "name": n, "text": t, "value": v, "contribution": c}
            for n, t, v, c in items
        )
    if line_number is not None and not rows:
        raise ValueError(f"the claim has no line {line_number}")
    return pd.DataFrame(rows, columns=["line_number", "name", "text", "value", "contribution"])


@dataclass
class FixReport:
    """The claim before and after its audit fixes, and each fix's effect on its own."""

    before: ClaimScore
    after: ClaimScore
    fixes: (
        pd.DataFrame
    )  # one row per finding with a fix: rule, lines, fix, risk after it alone, dollars saved

    @property
    def risk_drop(self) -> float:
        return self.before.risk - self.after.risk


def apply_fixes_and_rescore(
    model: DenialModel,
    scored: ClaimScore,
    *,
    authorizations: Sequence[Authorization] | None = (),
) -> FixReport:
    """Apply each audit finding's fix (:func:`claims.audit.apply_fix`) on its own and re-score the claim
    (audited again, so a fixed finding disappears), then apply them all and re-score once more.

    A fix that cannot be applied (e.g. to a line an earlier fix removed) is reported with ``applied``
    false. ``authorizations`` as for :func:`score_claims`.

    >>> report = apply_fixes_and_rescore(model, scored)  # doctest: +SKIP
    >>> report.before.risk, report.after.risk  # doctest: +SKIP
    (0.81, 0.07)
    """
    payers = payers_by_id()
    auths = list(authorizations) if authorizations is not None else None
    rows: list[dict[str, Any]] = []
    fixed = scored.claim
    for finding in scored.findings:
        if finding.fix is None:
            continue
        row: dict[str, Any] = {
            "rule_id": finding.rule_id,
            "severity": finding.severity.value,
            "lines": ",".join(map(str, finding.lines)),
            "fix": finding.fix.description or finding.fix.action.value,
            "applied": True,
            "risk_after": math.nan,
            "expected_denied_after": math.nan,
        }
        try:
            alone = _score_one(model, apply_fix(scored.claim, finding.fix), scored.overrides, auths, payers)
            row["risk_after"], row["expected_denied_after"] = alone.risk, alone.expected_denied
            fixed = apply_fix(fixed, finding.fix)
        except ValueError:  # pydantic's ValidationError is a ValueError too
            row["applied"] = False
        rows.append(row)
    fixes = pd.DataFrame(
        rows,
        columns=["rule_id", "severity", "lines", "fix", "applied", "risk_after", "expected_denied_after"],
    )
    fixes["dollars_saved"] = scored.expected_denied - fixes["expected_denied_after"]
    after = _score_one(model, fixed, scored.overrides, auths, payers)
    return FixReport(scored, after, fixes)
