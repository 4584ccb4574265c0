"""MLflow behind one module: the store, runs, the registry and champion/challenger aliases.

This is the only module that imports MLflow. The embedded default is a SQLite store and an artifact
folder under ``<data>/mlflow`` (``tracking_uri_for``); ``MLFLOW_TRACKING_URI`` or a profile's URI points it
anywhere else. ``mlflow ui --backend-store-uri sqlite:///<data>/mlflow/mlflow.db`` opens the embedded store.
Registry stages are deprecated: versions are tagged with aliases, ``challenger`` for the newest, and
``champion`` for the one serving, moved only by :func:`promote`.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from features.model import DenialModel

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "RegisteredModel",
    "TrackingError",
    "champion_version",
    "configure",
    "load_model",
    "log_training_run",
    "promote",
    "tracking_uri_for",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
EXPERIMENT = "oncology-denials"


class TrackingError(RuntimeError):
    """The tracking store or registry cannot do what was asked."""


def tracking_uri_for(data_dir: str | Path) -> str:
    """The embedded store of a data folder: ``sqlite:///<data>/mlflow/mlflow.db``."""
    folder = Path(data_dir).resolve() / "mlflow"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def configure(tracking_uri: str | None, data_dir: str | Path) -> str:
    """Point MLflow at ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else the embedded store; return it.

    The embedded store keeps its artifacts in ``<data>/mlflow/artifacts`` (set when the experiment is made).
    """
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri_for(data_dir)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        location = None
        if uri.startswith("sqlite:///"):
            location = (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)
    return uri


@dataclass
class RegisteredModel:
    """A registered version and where its run is."""

    name: str
    version: str
    run_id: str
    model_uri: str


@contextmanager
def _quiet() -> Iterator[None]:
    # MLflow warns about pip requirement inference and the pickle format it is asked to use; neither is
    # actionable here, and the project's tests treat warnings as errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def log_training_run(
    model: DenialModel,
    *,
    model_name: str,
    config: Mapping[str, Any],
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: Path,
    input_example: pd.DataFrame,
    tags: Mapping[str, str],
) -> RegisteredModel:
    """One run: config, params, metrics, every file under ``artifacts``, and the model (sklearn flavour,
    signature and input example), registered as a new version of ``model_name`` with alias ``challenger``.
    """
    with _quiet(), mlflow.start_run(run_name=tags.get("run_name")) as run:
        mlflow.set_tags(dict(tags))
        mlflow.log_dict(dict(config), "config.json")
        mlflow.log_params({k: v for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})
        mlflow.log_artifacts(str(artifacts), "report")
        example = input_example.head(5)
        signature = infer_signature(example, model.predict_proba(example))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="cloudpickle",
            signature=signature,
            input_example=example,
            pyfunc_predict_fn="predict_proba",
            # Stated, not inferred: inference loads the model in a subprocess (a minute on a large model).
            pip_requirements=model_requirements(),
        )
        version = mlflow.register_model(info.model_uri, model_name)
        client = MlflowClient()
        client.set_registered_model_alias(model_name, CHALLENGER, version.version)
        return RegisteredModel(
            model_name, str(version.version), run.info.run_id, f"models:/{model_name}/{version.version}"
        )


#: The distributions the pickled model needs besides this project's own packages (features, claims).
_REQUIREMENTS = ("lightgbm", "scikit-learn", "numpy", "pandas", "pyarrow", "pydantic", "simple-icd-10-cm", "pyyaml")


def model_requirements() -> list[str]:
    """Pinned requirements of the logged model, from the running environment."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in _REQUIREMENTS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:  # pragma: no cover - every one is a dependency of the project
            continue
    return pins


def champion_version(model_name: str) -> RegisteredModel | None:
    """The version with alias ``champion``, or None."""
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None
    return RegisteredModel(
        model_name, str(version.version), str(version.run_id), f"models:/{model_name}/{version.version}"
    )


def promote(model_name: str, version: str) -> None:
    """Move alias ``champion`` to ``version`` (the caller has checked the gates)."""
    MlflowClient().set_registered_model_alias(model_name, CHAMPION, version)


def load_model(uri: str) -> DenialModel:
    """A logged model by URI (``models:/name@champion``, ``models:/name/3``, ``runs:/...``, a folder)."""
    try:
        with _quiet():
            model = mlflow.sklearn.load_model(uri)
    except (MlflowException, OSError) as e:
        raise TrackingError(f"cannot load the model {uri}: {e}") from e
    if not isinstance(model, DenialModel):
        raise TrackingError(f"{uri} is not a denial model ({type(model).__name__})")
    return model


def run_metrics(run_id: str) -> dict[str, float]:
    """The metrics logged by a run."""
    return dict(MlflowClient().get_run(run_id).data.metrics)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def temporary_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="denials-run-")
