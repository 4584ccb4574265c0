"""Training configuration (what to train) and profiles (where): validated, loadable from YAML.

``TrainingConfig`` holds the model and feature parameters, the time split, calibration, the capacity
sweep and the promotion gates; a ``Profile`` holds the data folder, the MLflow tracking URI and the
registered model name. The defaults live in ``training/configs/default.yaml`` and
``training/configs/profiles.yaml``; the resolved config is logged with every run.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "CapacityConfig",
    "ConfigError",
    "GateConfig",
    "ModelConfig",
    "Profile",
    "SplitConfig",
    "TrainingConfig",
    "load_config",
    "load_profile",
]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitConfig(_Strict):
    """Train / validation / test by submission date (never random rows)."""

    validation_fraction: float = Field(0.15, gt=0, lt=0.5, description="share of lines, by date")
    test_fraction: float = Field(0.2, gt=0, lt=0.5, description="the latest lines, by date")
    known_outcomes_only: bool = Field(
        True, description="train only on lines whose 835 arrived before the validation period starts"
    )


class ModelConfig(_Strict):
    """LightGBM and feature parameters (see features.model.DenialModel)."""

    num_leaves: int = Field(31, ge=2)
    max_depth: int = -1
    learning_rate: float = Field(0.05, gt=0, le=1)
    n_estimators: int = Field(600, ge=1, description="cap; early stopping picks the number")
    min_child_samples: int = Field(50, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    lambda_l2: float = Field(1.0, ge=0)
    early_stopping_rounds: int = Field(40, ge=1)
    calibration: Literal["isotonic", "sigmoid", "none"] = "sigmoid"
    monotone: bool = Field(True, description="audit findings, unit limit and lateness may only raise the risk")
    reason_estimators: int = Field(400, ge=1)
    reason_num_leaves: int = Field(
        15, ge=2, description="the reason model's leaves (scored on every line of every request: kept small)"
    )
    reason_learning_rate: float = Field(0.1, gt=0, le=1)
    min_code_count: int = Field(20, ge=1)
    history_weight: float = Field(30.0, gt=0)


class CapacityConfig(_Strict):
    """Capacities compared before the final fit; the smallest within ``tolerance`` AUC of the best wins."""

    enabled: bool = True
    candidates: list[dict[str, int]] = Field(
        default_factory=lambda: [
            {"num_leaves": 7, "max_depth": 3},
            {"num_leaves": 15, "max_depth": 4},
            {"num_leaves": 31, "max_depth": 6},
            {"num_leaves": 63, "max_depth": -1},
        ]
    )
    tolerance: float = Field(0.005, ge=0)
    max_rows: int = Field(150_000, ge=1000, description="the sweep fits on the latest training lines only")
    contrib_rows: int = Field(2000, ge=10, description="rows timed for pred_contrib cost")


class GateConfig(_Strict):
    """Promotion: the challenger must beat the champion on the same test period."""

    min_auc_gain: float = Field(0.0, description="challenger AUC - champion AUC must be at least this")
    max_ece_increase: float = Field(0.0, ge=0, description="challenger ECE may exceed the champion's by this")


class TrainingConfig(_Strict):
    """What to train: model, split, capacity sweep, gates, seed."""

    model: ModelConfig = ModelConfig()
    split: SplitConfig = SplitConfig()
    capacity: CapacityConfig = CapacityConfig()
    gates: GateConfig = GateConfig()
    seed: int = 0
    n_jobs: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _fractions(self) -> TrainingConfig:
        if self.split.validation_fraction + self.split.test_fraction >= 0.8:
            raise ValueError("validation and test fractions leave too little to train on")
        return self


class Profile(_Strict):
    """Where: the data folder, the MLflow tracking URI (None: embedded store under the data folder), the
    registered model name."""

    data: str | None = None
    tracking_uri: str | None = None
    model_name: str = "oncology-denials"


def _load_yaml(source: Any, what: str) -> Any:
    try:
        return yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{what}: cannot read ({e})") from e


def _validated(model: type[_Strict], data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{what}: {where}: {first['msg'].removeprefix('Value error, ')}") from None


def load_config(path: str | Path | None = None) -> TrainingConfig:
    """The training config in ``path`` (YAML), or the packaged default."""
    source = Path(path) if path is not None else files("training") / "configs" / "default.yaml"
    config: TrainingConfig = _validated(
        TrainingConfig, _load_yaml(source, str(path or "default.yaml")), str(source)
    )
    return config


def load_profile(name: str = "local", path: str | Path | None = None) -> Profile:
    """Profile ``name`` from ``path`` (YAML mapping of name -> profile), or the packaged profiles."""
    source = Path(path) if path is not None else files("training") / "configs" / "profiles.yaml"
    profiles = _load_yaml(source, str(source))
    if name not in profiles:
        raise ConfigError(f"{source}: no profile {name!r} (known: {', '.join(sorted(profiles))})")
    profile: Profile = _validated(Profile, profiles[name], f"{source}: {name}")
    return profile
