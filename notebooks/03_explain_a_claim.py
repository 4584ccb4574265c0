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
# # 03 — Why is this claim at risk, and what should the biller change?
#
# Take a high-risk claim from the test period, show each line's denial risk and likely reason, the
# contributions behind the riskiest line (exact TreeSHAP, in log-odds), the coding audit's findings, and
# the risk after applying their fixes, as a billing manager would see it before submission.
#
# The model is the registered `champion` (notebook 02 trains one); without one, a model is fitted here
# on the same time split. Scoring audits the claim on its own, with the authorizations on file, as the
# scoring service does.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from training import api

folder = api.notebook_data()
tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or api.tracking_uri_for(folder)
model_name = "oncology-denials"
config = api.quick_config()

dataset = api.load_dataset(folder)
split = api.split_by_time(dataset.frame, **config.split.model_dump())
train, validation, test = (dataset.frame[mask] for mask in (split.train, split.validation, split.test))

api.configure(tracking_uri, folder)
champion = api.champion_version(model_name)
if champion is not None:
    model = api.load_model(f"models:/{model_name}@champion")
    print(f"scoring with {champion.model_uri} (champion)")
else:
    model = api.fit_model(train, validation, config)
    print("no champion in the store yet: fitted a model on the training period")
authorizations = api.load_authorizations(folder)

# %% [markdown]
# ## Pick the claim
#
# Among the 20 test-period claims with the riskiest line, the one where the audit's fixes would save the
# most expected denied dollars: a claim the biller can still do something about.

# %%
line_risk = model.predict_frame(test)["denial_probability"]
riskiest = line_risk.groupby(test["claim_id"]).max().sort_values(ascending=False).index[:20]
candidates = test[test["claim_id"].isin(riskiest)]
claims, overrides = api.claims_from_lines(candidates)
scored_claims = api.score_claims(model, claims, authorizations=authorizations, overrides=overrides)
reports = [api.apply_fixes_and_rescore(model, s, authorizations=authorizations) for s in scored_claims]
best = max(reports, key=lambda r: (r.before.expected_denied - r.after.expected_denied, r.before.risk))
scored = best.before
claim = scored.claim
print(
    f"claim {claim.claim_id}: {claim.form.value}, {claim.payer.name}, {len(claim.lines)} lines, "
    f"${float(claim.total_charge):,.2f} charged, submitted {claim.submission_date}"
)
print(f"claim risk (some line denied) {scored.risk:.1%}, expected denied ${scored.expected_denied:,.0f}")

# %% [markdown]
# ## Line risks and likely reasons

# %%
scored.lines.round(3)

# %%
fig, ax = plt.subplots(figsize=(10, 0.45 * len(scored.lines) + 1.5))
labels = [f"{row.line_number}: {row.procedure_code} {row.modifiers}" for row in scored.lines.itertuples()]
ax.barh(labels, scored.lines["probability"], color="tab:red")
ax.invert_yaxis()
ax.set_xlim(0, 1)
ax.set(xlabel="denial probability", title=f"claim {claim.claim_id}: risk per line")
fig.tight_layout()

# %% [markdown]
# ## What drives each line's risk
#
# Contributions summed per explanation group (the catalogue's `group`, in plain words), the three largest
# per line. Positive raises the risk.

# %%
by_group = api.explain(model, scored)
top = by_group[by_group["name"] != "base"].groupby("line_number", sort=False).head(3)
top.assign(contribution=top["contribution"].round(2))[["line_number", "text", "contribution"]]

# %% [markdown]
# ## The riskiest line, feature by feature (waterfall)
#
# From the model's average margin (`base`), each feature's contribution moves the line's log-odds; the
# sum is the line's margin, which the calibration turns into its probability.

# %%
line = int(scored.lines.loc[scored.lines["probability"].idxmax(), "line_number"])
features = api.explain(model, scored, by="feature", line_number=line)
base = float(features.loc[features["name"] == "base", "contribution"].iloc[0])
steps = features[features["name"] != "base"]
shown = steps.head(10)
rest = float(steps["contribution"].iloc[10:].sum())
categorical = {spec.name for spec in model.builder_.feature_specs_ if spec.categorical}  # values are codes
names = [
    n if n in categorical else f"{n} = {v:g}" for n, v in zip(shown["name"], shown["value"], strict=True)
]
names.append("all other features")
deltas = [*shown["contribution"], rest]
starts = base + np.concatenate([[0.0], np.cumsum(deltas)[:-1]])
margin = base + float(np.sum(deltas))
probability = float(model.calibrate(np.array([margin]))[0])

fig, ax = plt.subplots(figsize=(10, 5.5))
ax.barh(names, deltas, left=starts, color=["tab:red" if d > 0 else "tab:green" for d in deltas])
ax.axvline(base, color="grey", linestyle="--", label=f"base {base:.2f}")
ax.axvline(margin, color="black", label=f"line margin {margin:.2f} -> probability {probability:.1%}")
ax.invert_yaxis()
ax.set(xlabel="log-odds of denial", title=f"line {line}: contributions (exact TreeSHAP)")
ax.legend(loc="lower right")
fig.tight_layout()
assert np.isclose(probability, scored.lines.loc[scored.lines["line_number"] == line, "probability"].iloc[0])

# %% [markdown]
# ## What the coding audit found

# %%
pd.DataFrame(
    [
        {
            "rule": f.rule_id,
            "severity": f.severity.value,
            "lines": ",".join(map(str, f.lines)),
            "message": f.message,
            "fix": f.fix.description if f.fix else "",
        }
        for f in scored.findings
    ],
    columns=["rule", "severity", "lines", "message", "fix"],
)

# %% [markdown]
# ## Apply the fixes and score again
#
# Each fix alone, then all of them: the fixed claim is audited again (a fixed finding disappears) and
# re-scored by the same model.

# %%
print(
    f"claim risk {best.before.risk:.1%} -> {best.after.risk:.1%}; expected denied "
    f"${best.before.expected_denied:,.0f} -> ${best.after.expected_denied:,.0f}"
)
best.fixes.round(3)

# %%
before = best.before.lines.set_index("line_number")["probability"]
after = best.after.lines.set_index("line_number")["probability"].reindex(before.index)
fig, ax = plt.subplots(figsize=(10, 4))
x = np.arange(len(before))
ax.bar(x - 0.2, before, width=0.4, label="as coded", color="tab:red")
ax.bar(x + 0.2, after.fillna(0.0), width=0.4, label="after the audit's fixes", color="tab:green")
ax.set_xticks(x, [f"line {n}" for n in before.index])
ax.set(
    ylabel="denial probability", ylim=(0, 1), title=f"claim {claim.claim_id}: risk before and after the fixes"
)
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## What really happened (simulated data only)
#
# The claim went out as coded; its 835 says what the payer did, and the simulator knows each line's true
# denial probability.

# %%
actual_columns = ["line_number", "procedure_code", "label_denied", "label_category", "label_reason_code"]
actual_columns += [c for c in ("true_probability", "true_category") if c in test]
actual = test[test["claim_id"] == claim.claim_id][actual_columns].set_index("line_number")
actual.assign(predicted=scored.lines.set_index("line_number")["probability"]).round(3)
