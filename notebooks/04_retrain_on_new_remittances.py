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
# # 04 — New remittances arrived: should the model be replaced?
#
# The practice's champion was trained on the history up to some month. New 837 and 835 files have come in
# since. Ingest them with the history (the same code as `denials ingest`), retrain, compare the challenger
# with the champion **on the same test period**, and promote it only if it is better by the configured
# gates (ROC-AUC not lower, calibration not worse: `gates` in `training/configs/default.yaml`).
#
# The X12 files are the simulated practice's monthly files in `<data>/x12`. This walk-through registers
# its models under a name of its own, `oncology-denials-retrain`, so it never moves the champion that
# notebook 02 (or the scoring service) uses.

# %%
import datetime as dt
import os
import shutil

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from claims.simulate import SimulationConfig
from training import api

folder = api.notebook_data()
x12 = folder / "x12"
if not any(x12.glob("*.835")):
    raise FileNotFoundError(
        f"{x12}: no 835 files; simulate with --x12 or point DENIALS_NOTEBOOK_DATA elsewhere"
    )
work = folder / "retrain"
tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or api.tracking_uri_for(folder)
profile = api.Profile(tracking_uri=tracking_uri, model_name="oncology-denials-retrain")
config = api.quick_config()
# The salt that hashes member ids: the simulated practice's, so the authorization log's member keys match.
salt = os.environ.get("DENIALS_ID_SALT") or SimulationConfig().id_salt


def month_of(path):
    """The month in a monthly file's name (claims_2024-03.837p, remits_2024-04.835)."""
    return dt.date.fromisoformat(path.stem.split("_")[-1] + "-01")


claim_files = sorted(x12.glob("claims_*.837*"))
remit_files = sorted(x12.glob("remits_*.835"))
months = sorted({month_of(p) for p in claim_files})
cutoff = months[len(months) * 2 // 3]  # the champion knew the first two thirds of the period
print(f"{len(claim_files)} claim files and {len(remit_files)} remittance files; new from {cutoff}")


def ingest_until(name, until):
    """Ingest the files dated before ``until`` into ``work/name``, with the authorization log."""
    out = work / name
    summary = api.ingest(
        [p for p in claim_files if month_of(p) < until],
        [p for p in remit_files if month_of(p) < until],
        out,
        salt=salt,
    )
    if (folder / "authorizations.parquet").is_file():
        shutil.copy(folder / "authorizations.parquet", out / "authorizations.parquet")
    keys = [
        "file_count",
        "files_with_errors",
        "claims",
        "lines",
        "matched_lines",
        "labeled_lines",
        "denial_rate",
    ]
    return out, {k: summary[k] for k in keys}


# %% [markdown]
# ## The champion: trained on the history
#
# If the store has no champion for this model name yet, train one on the files before the cutoff. Claims
# whose 835 came after the cutoff have no label yet and are left out.

# %%
history, history_summary = ingest_until("history", cutoff)
api.configure(tracking_uri, history)
champion = api.champion_version(profile.model_name)
if champion is None:
    first = api.train_model(history, config, profile, promote=True)
    print(f"trained the first champion, version {first.registered.version}: {first.promotion_reason}")
    champion = api.champion_version(profile.model_name)
print("champion:", champion)

# %% [markdown]
# ## The new files: ingest everything, retrain, let the gates decide
#
# `train_model(..., promote=True)` evaluates the challenger on the latest period of the updated data,
# loads the current champion and evaluates it on **the same lines**, and moves `champion` only if the
# challenger passes the gates.

# %%
updated, updated_summary = ingest_until("updated", dt.date.max)
pd.DataFrame({"history": history_summary, "history + new files": updated_summary})

# %%
result = api.train_model(updated, config, profile, promote=True)
print(f"challenger: version {result.registered.version} (run {result.registered.run_id})")
print(f"promoted: {result.promoted} ({result.promotion_reason})")
comparison = pd.DataFrame(
    {
        f"champion v{champion.version}": result.champion_metrics,
        f"challenger v{result.registered.version}": result.evaluation.metrics["model"],
    }
)
comparison.loc[["lines", "roc_auc", "pr_auc", "brier", "ece", "recall_at_90_precision", "lift_top10"]].round(
    4
)

# %% [markdown]
# ## The same test period, side by side

# %%
dataset = api.load_dataset(updated)
split = api.split_by_time(dataset.frame, **config.split.model_dump())
test = dataset.frame[split.test]
y = test["label_denied"].to_numpy(dtype=bool)
scores = {
    f"champion v{champion.version} (history only)": api.load_model(champion.model_uri).predict_proba(test)[
        :, 1
    ],
    f"challenger v{result.registered.version} (with the new files)": result.evaluation.scores["model"],
}
fig, ax = plt.subplots(figsize=(6, 5.5))
for label, p in scores.items():
    fpr, tpr, _ = roc_curve(y, p)
    ax.plot(fpr, tpr, label=f"{label}: AUC {roc_auc_score(y, p):.3f}")
ax.plot([0, 1], [0, 1], color="grey", linestyle="--")
ax.set(
    xlabel="false positive rate", ylabel="true positive rate", title=f"test period from {split.test_start}"
)
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Who serves now

# %%
now = api.champion_version(profile.model_name)
print(f"models:/{profile.model_name}@champion is version {now.version}")
assert (now.version == result.registered.version) == result.promoted
