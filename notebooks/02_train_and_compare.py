# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 — Does the model beat the baselines, and where is it weakest?
#
# Train LightGBM on the history with `train_model` (what `denials train` runs), compare it on the test
# period with the baselines (payer prior, the coding audit alone, logistic regression on the same
# features) and, on simulated data, the oracle (the simulator's true probabilities: the best any model
# could do); look at calibration, precision-recall, per-payer slices and the denials it misses; then find
# the run again in MLflow.
#
# **Leakage rules** the pipeline enforces: every feature is known at submission (the catalogue in
# `docs/feature-catalogue.md` says when); the claims are audited as they were at submission; the split is
# by submission date, never by random rows; training keeps only outcomes received before the validation
# period starts. A ROC-AUC above the oracle's would be a leakage alarm.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve

from training import api

folder = api.notebook_data()
# Runs go to MLFLOW_TRACKING_URI when set, else to the embedded store next to the data.
tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or api.tracking_uri_for(folder)
profile = api.Profile(tracking_uri=tracking_uri, model_name="oncology-denials")
# The notebook config: fewer trees and no capacity sweep. `api.load_config()` is what `denials train` uses.
config = api.quick_config()

# %%
result = api.train_model(folder, config, profile, promote=True)
print(
    f"registered {result.registered.name} version {result.registered.version} (run {result.registered.run_id})"
)
print(f"promoted to champion: {result.promoted} ({result.promotion_reason})")
pd.DataFrame(result.split).T

# %% [markdown]
# ## The model beside the baselines and the oracle (test period)

# %%
evaluation = result.evaluation
headline = [
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "recall_at_90_precision",
    "lift_top10",
    "denied_dollars_top10",
]
metrics = pd.DataFrame(evaluation.metrics).T[headline]
print(evaluation.ratios())
metrics.round(4)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
metrics["roc_auc"].plot.bar(ax=axes[0], title="ROC-AUC", ylim=(0.5, 1.0), rot=0)
metrics["pr_auc"].plot.bar(ax=axes[1], title="PR-AUC", ylim=(0.0, 1.0), rot=0, color="tab:orange")
fig.tight_layout()

# %% [markdown]
# ## Precision-recall and calibration
#
# The test lines are the latest ones by submission date; `evaluation.scores` holds every scorer's
# probabilities for them, in the dataset's order.

# %%
dataset = api.load_dataset(folder)
split = api.split_by_time(dataset.frame, **config.split.model_dump())
test = dataset.frame[split.test]
y = test["label_denied"].to_numpy(dtype=bool)

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
for name, p in evaluation.scores.items():
    precision, recall, _ = precision_recall_curve(y, p)
    axes[0].plot(recall, precision, label=name)
    if name in ("model", "logistic", "oracle"):
        observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
        axes[1].plot(predicted, observed, marker="o", label=name)
axes[0].set(xlabel="recall", ylabel="precision", title="precision-recall (test period)")
axes[1].plot([0, 1], [0, 1], color="grey", linestyle="--")
axes[1].set(
    xlabel="predicted denial probability", ylabel="observed denial rate", title="calibration (deciles)"
)
for ax in axes:
    ax.legend()
fig.tight_layout()

# %% [markdown]
# ## Per payer: the model against the oracle
#
# The gap to the oracle is what is left to learn; a small payer's numbers are noisy (see `lines`).

# %%
payers = pd.DataFrame(evaluation.slices["payer"]).T
payers["gap_to_oracle"] = payers.get("oracle.roc_auc", np.nan) - payers.get("model.roc_auc", np.nan)
columns = [
    c
    for c in ["model.lines", "model.denial_rate", "model.roc_auc", "oracle.roc_auc", "gap_to_oracle"]
    if c in payers
]
payers = payers[columns].sort_values("gap_to_oracle", ascending=False)
auc_columns = [c for c in ["model.roc_auc", "oracle.roc_auc"] if c in payers]
ax = payers[auc_columns].plot.barh(figsize=(10, 4.5), title="ROC-AUC per payer (test period)")
ax.set_xlim(0.5, 1.0)
ax.figure.tight_layout()
payers.round(3)

# %% [markdown]
# ## Where the model is weakest
#
# Which denials does it see coming, and which not? Mean predicted probability of the denied lines per
# denial category, beside the oracle's. Categories nobody can foresee from the claim (an eligibility
# lapse, a random missing-information return) stay low for the oracle too; a category where the model is
# far below the oracle is where a new feature could help (see `docs/data-science-guide.md`).

# %%
scored = test.assign(model=evaluation.scores["model"])
if "oracle" in evaluation.scores:
    scored["oracle"] = evaluation.scores["oracle"]
weakest = (
    scored[scored["label_denied"]]
    .groupby("label_category")[[c for c in ("model", "oracle") if c in scored]]
    .mean()
    .assign(denied_lines=scored[scored["label_denied"]].groupby("label_category").size())
    .sort_values("model")
)
ax = weakest.drop(columns="denied_lines").plot.barh(
    figsize=(10, 4.5), title="mean probability given to denied lines"
)
ax.figure.tight_layout()
weakest.round(3)

# %%
drug_classes = pd.DataFrame(evaluation.slices["drug_class"]).T
wanted = ["model.lines", "model.denial_rate", "model.roc_auc", "oracle.roc_auc"]
drug_classes[[c for c in wanted if c in drug_classes]].sort_values("model.roc_auc").round(3)

# %% [markdown]
# ## Find the run again in MLflow
#
# `train_model` logged the resolved config, the parameters, the metrics, the report (plots and model
# card) and the model, and registered it with alias `challenger` (and `champion` when promoted). Anyone
# can find it again by alias, load it, and get the same probabilities. Open the store with
# `.venv/bin/mlflow ui --backend-store-uri <the tracking URI printed below>`.

# %%
print("tracking URI:", tracking_uri)
champion = api.champion_version(profile.model_name)
print("champion:", champion)
logged = api.run_metrics(result.registered.run_id)
print(
    {
        k: round(v, 4)
        for k, v in logged.items()
        if k in ("model.roc_auc", "oracle.roc_auc", "logistic.roc_auc")
    }
)
reloaded = api.load_model(result.registered.model_uri)
same = np.allclose(reloaded.predict_proba(test)[:, 1], evaluation.scores["model"])
print(f"{result.registered.model_uri} gives the same test probabilities: {same}")
assert same
