"""Where the model comes from: the MLflow registry, a model folder, or the local cache of the last one.

This is the only serving module that imports MLflow. ``load_model`` resolves ``models:/<name>@<alias>``
(or ``models:/<name>/<version>``) in the registry, downloads that version into the cache folder
(``<cache>/<name>/v<version>-<run id>``, written atomically, with a ``<alias>.json`` pointer holding its
:class:`ModelInfo`) and loads it from there. When the registry cannot be reached and a cached copy exists,
it loads the cache and says so (``ModelInfo.source == "cache"``, ``ModelInfo.note``). A folder path is
loaded as is. Every model is checked against the code's feature schema before it is used.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient

from features.catalogue import catalogue
from features.context import rule_ids
from features.model import DenialModel
from serving.errors import FeatureSchemaMismatch, ModelLoadError

__all__ = [
    "LoadedModel",
    "ModelInfo",
    "cached_folder",
    "check_feature_schema",
    "load_model",
    "registry_version",
]

_REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")
#: Metrics shown by GET /v1/model (the training run's test-period figures).
_SUMMARY_METRICS = (
    "model.roc_auc",
    "model.pr_auc",
    "model.brier",
    "model.ece",
    "model.recall_at_90_precision",
    "model.lift_top10",
    "model.reason_top1_accuracy",
    "roc_auc_vs_oracle",
    "pr_auc_vs_oracle",
)


@dataclass(frozen=True)
class ModelInfo:
    """What model is in use and where it came from (no data, no patient information)."""

    name: str
    version: str | None
    alias: str | None
    run_id: str | None
    uri: str
    source: str  # "registry", "path" or "cache"
    loaded_at: str
    training_period: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    features: int = 0
    trees: int = 0
    note: str | None = None  # e.g. why the cache is in use

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoadedModel:
    model: DenialModel
    info: ModelInfo


@contextmanager
def _quiet() -> Iterator[None]:
    # MLflow warns about its pickle format and pip inference on load; neither is actionable when serving.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_feature_schema(model: object, where: str) -> DenialModel:
    """``model`` if it is a fitted :class:`DenialModel` whose features are the ones this code builds.

    A model trained by an older or newer version of ``features`` (other audit rules, other feature
    columns) would be fed columns it does not expect: it is refused.
    """
    if not isinstance(model, DenialModel):
        raise FeatureSchemaMismatch(f"{where} is not a denial model but a {type(model).__name__}")
    builder = getattr(model, "builder_", None)
    booster = getattr(model, "booster_", None)
    if builder is None or booster is None:
        raise FeatureSchemaMismatch(f"{where} is a denial model that was never fitted")
    expected = [spec.name for spec in catalogue(rule_ids())]
    found = [str(n) for n in builder.get_feature_names_out()]
    in_booster = [str(n) for n in booster.feature_name()]
    if found != expected or in_booster != expected:
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        what = ", ".join(
            part
            for part in (
                f"missing {', '.join(missing[:5])}" if missing else "",
                f"unknown {', '.join(extra[:5])}" if extra else "",
                "same names in another order" if not missing and not extra else "",
            )
            if part
        )
        raise FeatureSchemaMismatch(
            f"{where} was trained with {len(found)} features, the code builds {len(expected)} ({what}); "
            "retrain it with this version of the code",
            expected=len(expected),
            found=len(found),
        )
    return model


def _load_folder(folder: Path, where: str) -> DenialModel:
    try:
        with _quiet():
            model = mlflow.sklearn.load_model(str(folder))
    except Exception as e:  # MLflow raises many types (MlflowException, OSError, pickle errors)
        raise ModelLoadError(f"cannot load the model in {where}: {type(e).__name__}") from e
    return check_feature_schema(model, where)


def _info(model: DenialModel, **values: Any) -> ModelInfo:
    return ModelInfo(
        loaded_at=_now(),
        features=len(model.feature_names_),
        trees=int(model.booster_.num_trees()),
        **values,
    )


def _run_details(client: MlflowClient, run_id: str | None) -> tuple[dict[str, str], dict[str, float]]:
    if not run_id:
        return {}, {}
    run = client.get_run(run_id)
    params, tags = run.data.params, run.data.tags
    period = {
        "train_until": params.get("split.validation_start", ""),
        "validation_from": params.get("split.validation_start", ""),
        "test_from": params.get("split.test_start", tags.get("test_start", "")),
        "test_to": tags.get("test_end", ""),
    }
    metrics = {k: float(v) for k, v in run.data.metrics.items() if k in _SUMMARY_METRICS}
    return {k: v for k, v in period.items() if v}, metrics


def _cache_folder(cache: Path, name: str, version: str, run_id: str | None) -> Path:
    # A version number names a model only within one registry: the run id tells two registries' version 1
    # apart when they share a cache folder (or the registry was rebuilt).
    return cache / name / (f"v{version}-{run_id}" if run_id else f"v{version}")


def cached_folder(cache: Path, info: ModelInfo) -> Path:
    """The cache folder holding the registry version ``info`` describes (a loadable MLflow model folder)."""
    if info.version is None:
        raise ValueError(f"{info.uri} is not a registry version: it has no cache folder")
    return _cache_folder(cache, info.name, info.version, info.run_id)


def _pointer(cache: Path, name: str, label: str) -> Path:
    return cache / name / f"{label}.json"


def _from_registry(uri: str, match: re.Match[str], tracking_uri: str | None, cache: Path) -> LoadedModel:
    name, alias, version = match["name"], match["alias"], match["version"]
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    entry = (
        client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    )
    version = str(entry.version)
    period, metrics = _run_details(client, entry.run_id)
    target = _cache_folder(cache, name, version, entry.run_id)
    if not (target / "MLmodel").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".v{version}-", dir=target.parent))
        try:
            with _quiet():
                # The version's own artifact location: a models:/ URI would use the global tracking URI.
                local = mlflow.artifacts.download_artifacts(
                    artifact_uri=client.get_model_version_download_uri(name, version),
                    dst_path=str(staging),
                    tracking_uri=tracking_uri,
                )
            if target.exists():
                shutil.rmtree(target)
            os.replace(local, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    model = _load_folder(target, uri)
    info = _info(
        model,
        name=name,
        version=version,
        alias=alias,
        run_id=entry.run_id,
        uri=uri,
        source="registry",
        training_period=period,
        metrics=metrics,
    )
    pointer = _pointer(cache, name, alias or f"version-{version}")
    temporary = pointer.with_suffix(".tmp")
    temporary.write_text(json.dumps({**info.to_dict(), "folder": target.name}, indent=2))
    os.replace(temporary, pointer)
    return LoadedModel(model, info)


def _from_cache(uri: str, match: re.Match[str], cache: Path, reason: str) -> LoadedModel:
    name, alias, version = match["name"], match["alias"], match["version"]
    pointer = _pointer(cache, name, alias or f"version-{version}")
    if not pointer.is_file():
        raise ModelLoadError(f"the registry did not give {uri} ({reason}) and no copy of it is cached")
    saved = json.loads(pointer.read_text())
    folder = cache / name / str(saved.pop("folder"))
    model = _load_folder(folder, f"the cached copy of {uri}")
    saved.update(
        source="cache",
        loaded_at=_now(),
        note=f"the registry could not be used at start-up ({reason}); serving the cached version "
        f"{saved.get('version')} loaded from it on {saved.get('loaded_at')}",
    )
    return LoadedModel(model, ModelInfo(**saved))


def _reason(error: BaseException) -> str:
    """A short, data-free description of why the registry failed."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text[:160]}" if text else type(error).__name__


def load_model(uri: str, *, tracking_uri: str | None = None, cache: Path | None = None) -> LoadedModel:
    """The model at ``uri``, checked against the feature schema.

    ``models:/<name>@<alias>`` and ``models:/<name>/<version>`` go through the registry and the cache;
    an existing folder is loaded directly; other MLflow URIs (``runs:/...``) are loaded without caching.

    >>> loaded = load_model("models:/oncology-denials@champion", cache=Path("cache"))  # doctest: +SKIP
    >>> loaded.info.version  # doctest: +SKIP
    '3'
    """
    match = _REGISTRY_URI.match(uri)
    if match is not None:
        cache = cache or Path(tempfile.gettempdir()) / "denials-model-cache"
        try:
            return _from_registry(uri, match, tracking_uri, cache)
        except (ModelLoadError, FeatureSchemaMismatch):
            raise
        except Exception as e:  # unreachable store, missing alias, network: try the cache
            return _from_cache(uri, match, cache, _reason(e))
    folder = Path(uri)
    if folder.is_dir():
        model = _load_folder(folder, str(folder))
        run_id = _mlmodel_run_id(folder)
        return LoadedModel(
            model,
            _info(model, name=folder.name, version=None, alias=None, run_id=run_id, uri=uri, source="path"),
        )
    try:
        with _quiet():
            if tracking_uri:
                mlflow.set_tracking_uri(tracking_uri)
            model = mlflow.sklearn.load_model(uri)
    except Exception as e:
        raise ModelLoadError(f"cannot load the model {uri}: {_reason(e)}") from e
    checked = check_feature_schema(model, uri)
    return LoadedModel(
        checked, _info(checked, name=uri, version=None, alias=None, run_id=None, uri=uri, source="path")
    )


def _mlmodel_run_id(folder: Path) -> str | None:
    mlmodel = folder / "MLmodel"
    if not mlmodel.is_file():
        return None
    for line in mlmodel.read_text().splitlines():
        if line.startswith("run_id:"):
            return line.split(":", 1)[1].strip() or None
    return None


def registry_version(uri: str, *, tracking_uri: str | None = None) -> str | None:
    """The version an alias URI points to now (``None`` for other URIs); raises when unreachable."""
    match = _REGISTRY_URI.match(uri)
    if match is None or not match["alias"]:
        return None
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    return str(client.get_model_version_by_alias(match["name"], match["alias"]).version)
