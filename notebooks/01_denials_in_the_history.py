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
# # 01 — What gets denied in the history?
#
# Which lines the payers denied, by payer, drug class, reason and month; how many dollars that was; and
# what a payer's policy change does to the denials over time.
#
# The data folder is `DENIALS_NOTEBOOK_DATA`, else `data/notebooks` in the project, simulated on first use
# (a practice of 3,000 claims, 2023-2025, with X12 files). Point it at a folder written by
# `denials ingest` to look at a real practice's history: everything below reads only the line table.
#
# A line is **denied** when a payer-side adjustment (CAS group CO, OA or PI) with a non-zero amount carries
# a CARC other than 45, 253, 23 or 94; the patient's share (PR) never counts. The **category** comes from
# the CARC (refined by the RARC for generic CARCs). See the README, "The label".

# %%
import matplotlib.pyplot as plt
import pandas as pd

from claims.policy import load_payers
from claims.reference import load_drugs
from training import api

folder = api.notebook_data()
dataset = api.load_dataset(folder)
lines = dataset.frame
print(f"{folder}: {dataset.source}, simulated with ground truth: {dataset.has_truth}")

# %%
drugs = load_drugs()
lines = lines.assign(
    month=pd.to_datetime(lines["submission_date"]).dt.to_period("M"),
    quarter=pd.to_datetime(lines["service_date"]).dt.to_period("Q"),
    drug_class=lines["procedure_code"].map(lambda c: drugs[c].drug_class.value if c in drugs else "service"),
    denied_dollars=lines["label_denied_amount"].fillna(0.0).where(lines["label_denied"], 0.0),
)
overview = pd.Series(
    {
        "claims": lines["claim_id"].nunique(),
        "lines": len(lines),
        "first submission": lines["submission_date"].min(),
        "last submission": lines["submission_date"].max(),
        "line denial rate": round(lines["label_denied"].mean(), 4),
        "claims with a denied line": round(lines.groupby("claim_id")["label_denied"].any().mean(), 4),
        "charges ($)": round(lines["line_charge"].sum()),
        "denied dollars ($)": round(lines["denied_dollars"].sum()),
    }
)
overview

# %% [markdown]
# ## Why: denials by reason
#
# Counts and dollars tell different stories: a few authorization or medical-necessity denials of
# immunotherapy lines outweigh many small coding denials.

# %%
denied = lines[lines["label_denied"]]
by_reason = (
    denied.groupby("label_category")
    .agg(lines=("label_denied", "size"), denied_dollars=("denied_dollars", "sum"))
    .sort_values("denied_dollars")
)
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
by_reason["lines"].plot.barh(ax=axes[0], color="tab:blue", title="denied lines")
by_reason["denied_dollars"].plot.barh(ax=axes[1], color="tab:red", title="denied dollars")
axes[0].set_ylabel("denial category")
fig.tight_layout()
by_reason.sort_values("denied_dollars", ascending=False)

# %% [markdown]
# ## Who: denials by payer, and by payer and reason

# %%
by_payer = (
    lines.groupby("payer_name")
    .agg(
        lines=("label_denied", "size"),
        denial_rate=("label_denied", "mean"),
        denied_dollars=("denied_dollars", "sum"),
    )
    .sort_values("denial_rate")
)
fig, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True)
by_payer["denial_rate"].plot.barh(ax=axes[0], title="share of lines denied")
by_payer["denied_dollars"].plot.barh(ax=axes[1], color="tab:red", title="denied dollars")
fig.tight_layout()

# %%
payer_reason = pd.crosstab(denied["payer_name"], denied["label_category"], normalize="index")
fig, ax = plt.subplots(figsize=(12, 4.5))
image = ax.imshow(payer_reason.to_numpy(), cmap="Reds", aspect="auto")
ax.set_xticks(range(payer_reason.shape[1]), payer_reason.columns, rotation=45, ha="right")
ax.set_yticks(range(payer_reason.shape[0]), payer_reason.index)
ax.set_title("each payer's denials by reason (row shares)")
fig.colorbar(image, ax=ax)
fig.tight_layout()

# %% [markdown]
# ## What: denials by drug class
#
# Administration codes, visits and flushes are `service`.

# %%
by_class = (
    lines.groupby("drug_class")
    .agg(
        lines=("label_denied", "size"),
        denial_rate=("label_denied", "mean"),
        denied_dollars=("denied_dollars", "sum"),
    )
    .sort_values("denied_dollars")
)
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
by_class["denial_rate"].plot.barh(ax=axes[0], title="share of lines denied")
by_class["denied_dollars"].plot.barh(ax=axes[1], color="tab:red", title="denied dollars")
fig.tight_layout()
by_class.sort_values("denied_dollars", ascending=False)

# %% [markdown]
# ## When: denials by month of submission
#
# The last months look better than they are: some of their remittances have not arrived yet, and lines
# without an outcome are not in the table.

# %%
by_month = lines.groupby("month").agg(
    denial_rate=("label_denied", "mean"), denied_dollars=("denied_dollars", "sum")
)
fig, ax = plt.subplots(figsize=(12, 4))
ax.bar(by_month.index.to_timestamp(), by_month["denied_dollars"], width=20, color="tab:red", alpha=0.4)
ax.set_ylabel("denied dollars")
rate_axis = ax.twinx()
rate_axis.plot(by_month.index.to_timestamp(), by_month["denial_rate"], marker="o", color="tab:blue")
rate_axis.set_ylabel("share of lines denied")
ax.set_title("denied dollars (bars) and line denial rate (line) by month of submission")
fig.tight_layout()

# %% [markdown]
# ## A policy change: the JW/JZ drug-waste modifiers
#
# CMS required JW (wasted drug) or JZ (no waste) on every single-dose-container drug line from
# 2023-07-01, and payers started returning lines without them from the date in their policy
# (`jw_jz_enforced_from` in `claims/reference/data/payer_policies.yaml`). Two things to look for: the
# practice learning to code the modifier, and what happens to the lines still sent without one.

# %%
enforced = sorted({p.jw_jz_enforced_from for p in load_payers().values() if p.jw_jz_enforced_from})
single_dose = {code for code, drug in drugs.items() if drug.container.value == "single_dose"}
waste = lines[lines["procedure_code"].isin(single_dose)].assign(
    without_modifier=lambda f: ~f["modifiers"].fillna("").str.contains(r"\bJ[WZ]\b"),
    coding_denial=lambda f: f["label_denied"] & (f["label_category"] == "coding_modifier"),
)
quarterly = waste.groupby("quarter").agg(
    lines=("without_modifier", "size"), share_without=("without_modifier", "mean")
)
quarterly["coding_denial_rate_without"] = (
    waste[waste["without_modifier"]].groupby("quarter")["coding_denial"].mean()
)
fig, ax = plt.subplots(figsize=(12, 4))
when = quarterly.index.to_timestamp()
ax.plot(when, quarterly["share_without"], marker="o", label="lines sent without JW or JZ")
ax.plot(
    when, quarterly["coding_denial_rate_without"], marker="s", label="of those, denied for coding/modifier"
)
for day in enforced:
    ax.axvline(pd.Timestamp(day), color="grey", linestyle="--")
ax.axvline(pd.Timestamp("2023-07-01"), color="black", linestyle=":", label="CMS requirement (2023-07-01)")
ax.set_ylim(0, 1)
ax.set_title("single-dose drug lines by quarter of service (dashed: payers start enforcing)")
ax.legend()
fig.tight_layout()
quarterly

# %% [markdown]
# ## How much of it could the coding audit alone have caught?
#
# Every line is audited *as it was at submission* (the authorizations on file then, the claims sent
# before). Denied dollars on lines the audit flagged with an error are the easy part; the rest (payer
# reviews, eligibility, unpublished edits) is what the model has to learn from the history
# (notebook 02).

# %%
flagged = pd.to_numeric(lines["audit_errors"]) > 0
caught = pd.DataFrame(
    {
        "denied lines": [
            int(lines["label_denied"][flagged].sum()),
            int(lines["label_denied"][~flagged].sum()),
        ],
        "denied dollars": [lines["denied_dollars"][flagged].sum(), lines["denied_dollars"][~flagged].sum()],
        "denial rate": [lines["label_denied"][flagged].mean(), lines["label_denied"][~flagged].mean()],
    },
    index=["audit error on the line", "no audit error"],
)
caught
