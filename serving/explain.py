"""Why a line is at risk, in a biller's words, from LightGBM's exact TreeSHAP contributions.

Method (a deliberate choice; see ``benchmarks/README.md``): exact TreeSHAP (``pred_contrib``) of the risk
booster, computed only for the lines a biller looks at (every line with an audit finding, lines at or above
a risk threshold, and the k riskiest lines of each claim; every line on request). The training issue chose
the model's capacity for it (shallow trees), so an exact explanation of a line costs about 0.1 ms: no
approximation is needed, and the contributions add up to the line's log-odds exactly.

Contributions are summed per feature-catalogue group (authorization, waste modifiers, units, ...); the
groups that raise the risk most become the reasons, each phrased from the line's own values (its code,
units, authorization status, the payer's history) rather than from feature names:
"No authorization on file for J9271 with this payer", "Modifier JZ missing on a single-dose drug (J9271)".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from claims.audit import Finding
from claims.model import Claim, ClaimLine
from features.catalogue import GROUP_TEXT, audit_group
from features.context import AUTH_STATUSES
from features.model import DenialModel

__all__ = ["Explainer", "Reason"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a line is at risk: a catalogue group, plain words, and its weight in log-odds."""

    group: str
    text: str
    contribution: float
    features: tuple[str, ...]


#: Authorization status (the ``auth_status`` feature) -> plain words.
_AUTH_TEXT: dict[str, str] = {
    "missing": "No authorization on file for {code} with this payer",
    "pending": "The authorization for {code} is pending or was not approved",
    "expired": "The service date of {code} is outside the authorization's dates",
    "wrong_code": "The authorization on file is for another code, not {code}",
    "units_exhausted": "The authorized units for {code} are used up",
    "number_missing": "The authorization number for {code} is not on the claim",
    "number_wrong": "The authorization number on the claim matches no approved authorization for {code}",
    "valid": "{code} needs prior authorization with this payer (one is on file)",
    "not_required": "Prior authorization rules of this payer for {code}",
    "unknown": "No authorizations were sent, so whether {code} is authorized is unknown",
}
_AUTH_RULE_STATUS: dict[str, str] = {
    "AUTH-MISSING": "missing",
    "AUTH-NOT-APPROVED": "pending",
    "AUTH-EXPIRED": "expired",
    "AUTH-OTHER-CODE": "wrong_code",
    "AUTH-UNITS-EXHAUSTED": "units_exhausted",
    "AUTH-NUMBER-WRONG": "number_wrong",
    "AUTH-NUMBER-MISSING": "number_missing",
}
_PLAN_TEXT = {
    "medicare": "Medicare",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "commercial": "commercial",
}


@dataclass(frozen=True, slots=True)
class _Line:
    """What a phrase may look at: the line, its claim, its findings and its feature values."""

    line: ClaimLine
    claim: Claim
    findings: Sequence[Finding]
    values: Mapping[str, float]
    labels: Mapping[str, Mapping[int, str]]

    @property
    def code(self) -> str:
        return self.line.procedure_code

    def value(self, name: str) -> float:
        return self.values.get(name, math.nan)

    def label(self, name: str) -> str:
        value = self.value(name)
        if math.isnan(value):
            return ""
        return self.labels.get(name, {}).get(int(value), "")

    def auth_status(self) -> str:
        """The authorization status: the indicator feature that is set (or the categorical's label)."""
        for status in AUTH_STATUSES:
            if self.values.get(f"auth_{status}") == 1:
                return status
        return self.label("auth_status")

    def finding(self, rule_id: str) -> Finding | None:
        return next((f for f in self.findings if f.rule_id == rule_id), None)


def _units(x: float) -> str:
    return f"{x:g}"


def _authorization(line: _Line, feature: str) -> str:
    if feature.startswith("audit_AUTH-"):
        status = _AUTH_RULE_STATUS.get(feature.removeprefix("audit_"), "")
    elif feature == "auth_number_on_claim":
        return (
            f"No authorization number on the claim for {line.code}"
            if line.value(feature) == 0
            else f"The authorization number on the claim for {line.code}"
        )
    elif feature.startswith("auth_") and line.value(feature) == 1:
        status = feature.removeprefix("auth_")
    else:
        status = line.auth_status()
    template = _AUTH_TEXT.get(status, "Prior authorization for {code}")
    return template.format(code=line.code)


def _waste(line: _Line, feature: str) -> str:
    code = line.code
    if line.value("waste_modifier_missing") == 1:
        return f"Modifier JZ missing on a single-dose drug ({code})"
    if line.value("mod_jz") == 1 and line.value("single_dose") == 0:
        return f"JZ billed on {code}, which is not a single-dose drug"
    if line.value("mod_jz") == 1 and line.value("mod_jw") == 1:
        return f"Both JW and JZ on {code}"
    if line.value("mod_jw") == 1:
        return f"Drug waste billed with JW for {code}"
    finding = next((f for f in line.findings if f.rule_id.startswith(("JWJZ-", "JW-"))), None)
    if finding is not None:
        return finding.message
    return f"JW/JZ drug-waste modifiers on single-dose drug {code}"


def _units_phrase(line: _Line, feature: str) -> str:
    units, over, typical = line.value("units"), line.value("units_over_limit"), line.value("units_vs_typical")
    code = line.code
    if over > 1:
        return f"{_units(units)} units of {code} exceed the limit of {_units(units / over)} per day (MUE)"
    if typical >= 1.5:
        return f"{_units(units)} units of {code} is {typical:.1f}x the usual units billed"
    if 0 < typical <= 0.67:
        return f"{_units(units)} units of {code} is fewer than usually billed ({typical:.1f}x)"
    finding = next((f for f in line.findings if f.rule_id.startswith("DRUG-UNITS")), None)
    if finding is not None:
        return finding.message
    return f"Units billed for {code} ({_units(units)})"


def _drug(line: _Line, feature: str) -> str:
    code = line.code
    if line.value("procedure_code") == 0:
        return f"{code} is rare in the claims the model learned from"
    drug_class = line.label("drug_class")
    if drug_class:
        return f"The drug billed: {code} ({drug_class.replace('_', ' ')})"
    return f"The service billed: {code}"


def _history(line: _Line, feature: str) -> str:
    code = line.code
    if feature == "hist_payer_code_auth_rate":
        rate = line.value(feature)
        return f"This payer recently denied {rate:.0%} of {code} lines for authorization"
    if feature == "hist_payer_class_rate":
        kind = line.label("drug_class").replace("_", " ") or "this kind of service"
        return f"This payer's recent denial rate for {kind}: {line.value(feature):.0%}"
    if feature == "hist_payer_rate":
        return f"This payer's recent denial rate: {line.value(feature):.0%}"
    if feature == "hist_payer_code_n" and line.value(feature) < math.log1p(10):
        return f"Few past outcomes of {code} with this payer"
    return f"This payer recently denied {line.value('hist_payer_code_rate'):.0%} of {code} lines"


def _diagnosis(line: _Line, feature: str) -> str:
    code = line.code
    if line.value("dx_label_match") == 0:
        return f"No diagnosis on the claim is a labeled indication for {code}"
    if feature == "dx_z51_first" and line.value(feature) == 1:
        return "A Z51.1x encounter code is listed first instead of the cancer"
    finding = next((f for f in line.findings if f.rule_id.startswith(("DX-", "NECESSITY-"))), None)
    if finding is not None:
        return finding.message
    if feature == "dx_metastatic" and line.value(feature) == 1:
        return "Secondary (metastatic) cancer diagnoses on the claim"
    if feature == "neoplasm_site" and line.label(feature):
        return f"Medical necessity of {code} for the cancer diagnosed ({line.label(feature)})"
    return f"Diagnoses and medical necessity for {code}"


def _trial(line: _Line, feature: str) -> str:
    nct, z006, c30 = line.value("trial_nct"), line.value("trial_z00_6"), line.value("trial_condition_30")
    if line.value("investigational_code") == 1:
        return f"{line.code} is an unlisted or investigational drug code"
    if nct == 1 and z006 == 0:
        return "Clinical-trial NCT number on the claim without Z00.6"
    if z006 == 1 and nct == 0:
        return "Z00.6 (clinical trial) without an NCT number"
    if line.claim.form.value == "institutional" and nct == 1 and c30 == 0:
        return "Clinical trial claim without condition code 30"
    finding = next((f for f in line.findings if f.rule_id.startswith("TRIAL-")), None)
    return finding.message if finding is not None else "Clinical-trial coding (Q0/Q1, Z00.6, NCT number)"


def _administration(line: _Line, feature: str) -> str:
    if line.value("em_without_25_on_admin_day") == 1:
        return f"E/M visit {line.code} without modifier 25 on an infusion day"
    finding = next((f for f in line.findings if f.rule_id.startswith(("ADMIN-", "MOD25"))), None)
    if finding is not None:
        return finding.message
    role = line.label("admin_role").replace("_", "-")
    if role:
        return f"Administration code {line.code} ({role}) in the infusion hierarchy"
    return f"Administration coding on the claim ({line.code})"


def _modifiers(line: _Line, feature: str) -> str:
    modifiers = ", ".join(line.line.modifiers)
    return f"Modifiers on {line.code}: {modifiers}" if modifiers else f"No modifiers on {line.code}"


def _ndc(line: _Line, feature: str) -> str:
    if line.value("ndc_present") == 0:
        return f"No NDC reported for {line.code}"
    if line.value("ndc_matches") == 0:
        return f"The NDC reported does not belong to {line.code}"
    finding = next((f for f in line.findings if f.rule_id.startswith(("NDC-", "DRUG-UNITS-NDC"))), None)
    return finding.message if finding is not None else f"NDC reporting for {line.code}"


def _payer(line: _Line, feature: str) -> str:
    plan = _PLAN_TEXT.get(line.claim.payer.plan_type.value, line.claim.payer.plan_type.value)
    return f"This payer's rules ({plan} plan)"


def _timing(line: _Line, feature: str) -> str:
    days = line.value("days_to_submission")
    if feature == "service_span_days":
        return f"Service dates on the claim span {line.value(feature):g} days"
    finding = next((f for f in line.findings if f.rule_id.startswith("TIMELY-")), None)
    if finding is not None:
        return finding.message
    return f"Submitted {days:g} days after the first service date"


def _duplicate(line: _Line, feature: str) -> str:
    finding = next((f for f in line.findings if f.rule_id.startswith("DUP-")), None)
    return finding.message if finding is not None else "Possibly a duplicate of a claim already submitted"


def _charges(line: _Line, feature: str) -> str:
    ratio = line.value("charge_per_unit_vs_limit")
    if feature == "charge_per_unit_vs_limit" and ratio == ratio:
        return f"Charge per unit of {line.code} is {ratio:.1f}x the Medicare payment limit"
    if feature == "log_claim_charge":
        return f"Claim total of ${float(line.claim.total_charge):,.0f}"
    return f"${float(line.line.charge):,.0f} at stake on this line"


def _claim(line: _Line, feature: str) -> str:
    errors = line.value("audit_errors")
    flagged = [f for f in line.findings if f.severity.value == "error"]
    if feature == "audit_errors" and flagged:
        # The audit's error count weighs most: say which error, in the words of the error's own group.
        group = audit_group(flagged[0].rule_id)
        phrase = _PHRASES.get(group)
        if phrase is not None and group != "claim":
            return phrase(line, f"audit_{flagged[0].rule_id}")
        return flagged[0].message
    if feature == "audit_errors" and errors > 0:
        return f"{errors:g} coding error{'s' if errors != 1 else ''} flagged on this line by the audit"
    if feature == "replacement":
        return "Replacement or void claim (frequency 7 or 8)"
    if feature == "institutional":
        kind = "Hospital outpatient (837I)" if line.value(feature) == 1 else "Office (837P)"
        return f"{kind} claim"
    if feature == "claim_line_count":
        return f"{line.value(feature):g} lines on the claim"
    if feature == "place_of_service" and line.claim.place_of_service:
        return f"Place of service {line.claim.place_of_service}"
    if feature == "type_of_bill" and line.claim.type_of_bill:
        return f"Type of bill {line.claim.type_of_bill}"
    if feature == "revenue_code" and line.line.revenue_code:
        return f"Revenue code {line.line.revenue_code} on {line.code}"
    if feature.startswith("audit_") and (f := line.finding(feature.removeprefix("audit_"))) is not None:
        return f.message
    return f"The claim as a whole ({line.code} on line {line.line.line_number})"


def _patient(line: _Line, feature: str) -> str:
    if feature == "is_dependent" and line.value(feature) == 1:
        return "The patient is covered as a dependent of the subscriber"
    return "The patient's coverage"


_PHRASES: dict[str, Callable[[_Line, str], str]] = {
    "authorization": _authorization,
    "waste_modifier": _waste,
    "units": _units_phrase,
    "drug": _drug,
    "history": _history,
    "diagnosis": _diagnosis,
    "trial": _trial,
    "administration": _administration,
    "modifiers": _modifiers,
    "ndc": _ndc,
    "payer": _payer,
    "timing": _timing,
    "duplicate": _duplicate,
    "charges": _charges,
    "claim": _claim,
    "patient": _patient,
}


class Explainer:
    """Grouped TreeSHAP reasons of a fitted :class:`~features.model.DenialModel`.

    >>> explainer = Explainer(model)  # doctest: +SKIP
    >>> explainer.reasons(contributions, values, line, claim, findings, limit=3)  # doctest: +SKIP
    [Reason(group='authorization', text='No authorization on file for J9271 with this payer', ...)]
    """

    def __init__(self, model: DenialModel) -> None:
        specs = model.builder_.feature_specs_
        self.names = [s.name for s in specs]
        self.groups = sorted({s.group for s in specs})
        group_index = {g: k for k, g in enumerate(self.groups)}
        #: (features, groups) 0/1 matrix: contributions @ membership sums each group.
        self.membership = np.zeros((len(specs), len(self.groups)))
        for i, spec in enumerate(specs):
            self.membership[i, group_index[spec.group]] = 1.0
        self.group_features = {g: [i for i, s in enumerate(specs) if s.group == g] for g in self.groups}
        self.labels: dict[str, dict[int, str]] = {
            name: {code: value for value, code in vocabulary.items()}
            for name, vocabulary in model.builder_.vocabularies_.items()
        }

    def group_contributions(self, contributions: np.ndarray) -> np.ndarray:
        """Per row, the sum of the contributions of each group (the bias column dropped)."""
        return np.asarray(contributions[:, : len(self.names)] @ self.membership)

    def reasons(
        self,
        contributions: np.ndarray,
        values: np.ndarray,
        line: ClaimLine,
        claim: Claim,
        findings: Sequence[Finding],
        *,
        limit: int,
        grouped: np.ndarray | None = None,
    ) -> list[Reason]:
        """The groups that raise this line's risk most (positive contributions), phrased in plain words.

        ``contributions`` is the line's TreeSHAP row (features + bias), ``values`` its feature values.
        """
        sums = grouped if grouped is not None else self.group_contributions(contributions[None, :])[0]
        order = np.argsort(-sums)[:limit].tolist()
        used = dict(zip(self.names, np.asarray(values, dtype=np.float64).tolist(), strict=True))
        view = _Line(line, claim, findings, used, self.labels)
        weights: list[float] = contributions.tolist()  # plain floats: cheaper to index than numpy scalars
        reasons: list[Reason] = []
        for k in order:
            total = float(sums[k])
            if total <= 1e-6:
                break
            group = self.groups[k]
            # Largest contribution first; equal ones keep the catalogue's order.
            ranked = sorted(self.group_features[group], key=lambda i: -weights[i])
            top = [self.names[i] for i in ranked[:3] if weights[i] > 0]
            feature = top[0] if top else self.names[ranked[0]]
            phrase = _PHRASES.get(group)
            text = phrase(view, feature) if phrase else GROUP_TEXT.get(group, group).capitalize()
            reasons.append(Reason(group, text, round(total, 4), tuple(top)))
        return reasons
