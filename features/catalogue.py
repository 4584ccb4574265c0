"""The feature catalogue: every feature's name, meaning, group (for explanations), and when it is known.

Every feature is known at submission: it is computed from the claim as submitted (the line table's
submitted columns), the context known then (audit findings, authorizations on file; :mod:`features.context`)
and reference tables; history features from outcomes *received before* the submission date. ``sources``
names the input columns a feature reads; a test fails if any of them comes from the 835 (``outcome_*``,
``label_*``) except the history features' declared point-in-time use of earlier outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

from features.context import AUTH_PROBLEMS, AUTH_STATUSES

__all__ = [
    "AUDIT_GROUPS",
    "GROUP_TEXT",
    "MODIFIER_FLAGS",
    "FeatureSpec",
    "audit_group",
    "catalogue",
    "catalogue_markdown",
]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One feature of the matrix."""

    name: str
    meaning: str
    group: str
    known: str  # when the value is known
    sources: tuple[str, ...]  # input columns read
    categorical: bool = False
    monotone: int = 0  # +1: the risk may only rise with the value (a problem found never lowers it)


#: Plain words for each group, used to phrase explanations ("Authorization status", ...).
GROUP_TEXT: dict[str, str] = {
    "authorization": "prior authorization",
    "drug": "the drug billed",
    "units": "units billed",
    "waste_modifier": "JW/JZ drug-waste modifiers",
    "modifiers": "modifiers",
    "administration": "administration coding (infusion hierarchy, modifier 25)",
    "ndc": "NDC reporting",
    "diagnosis": "diagnoses and medical necessity",
    "trial": "clinical-trial coding",
    "payer": "the payer",
    "history": "this payer's recent denials",
    "timing": "timing of submission",
    "duplicate": "duplicate billing",
    "charges": "charges",
    "claim": "the claim as a whole",
    "patient": "the patient's coverage",
}

#: Modifier indicator features: feature suffix -> modifiers that set it.
MODIFIER_FLAGS: dict[str, tuple[str, ...]] = {
    "jw": ("JW",),
    "jz": ("JZ",),
    "25": ("25",),
    "distinct": ("59", "XE", "XS", "XP", "XU"),
    "q0": ("Q0",),
    "q1": ("Q1",),
    "kx": ("KX",),
    "ga_gz": ("GA", "GZ"),
    "jg_tb": ("JG", "TB"),
}

#: Audit rule id prefix -> explanation group.
AUDIT_GROUPS: tuple[tuple[str, str], ...] = (
    ("AUTH-", "authorization"),
    ("JWJZ-", "waste_modifier"),
    ("JW-", "waste_modifier"),
    ("DRUG-UNITS", "units"),
    ("NDC-", "ndc"),
    ("ADMIN-", "administration"),
    ("MOD25", "administration"),
    ("TRIAL-", "trial"),
    ("DX-", "diagnosis"),
    ("NECESSITY-", "diagnosis"),
    ("TIMELY-", "timing"),
    ("DUP-", "duplicate"),
    ("DRUG-", "drug"),
    ("CODE-", "drug"),
)


def audit_group(rule_id: str) -> str:
    """The explanation group of an audit rule."""
    return next((group for prefix, group in AUDIT_GROUPS if rule_id.startswith(prefix)), "claim")


_SUBMIT = "at submission"
_REF = "at submission (reference tables)"
_HIST = "at submission (outcomes received before the submission date)"


def catalogue(rule_ids: tuple[str, ...]) -> list[FeatureSpec]:
    """The features, in matrix column order, for the given audit rule ids."""
    f = FeatureSpec
    specs = [
        # line: code and drug
        f("procedure_code", "HCPCS/CPT code of the line (rare codes grouped)", "drug", _SUBMIT,
          ("procedure_code",), categorical=True),
        f("drug_class", "therapeutic class of a drug code (none for services)", "drug", _REF,
          ("procedure_code",), categorical=True),
        f("is_drug", "the code is a drug (J/Q code in the drug table)", "drug", _REF, ("procedure_code",)),
        f("single_dose", "drug in single-dose containers (JW/JZ apply)", "waste_modifier", _REF,
          ("procedure_code",)),
        f("admin_role", "administration code role: initial, add-on, concurrent, standalone (none otherwise)",
          "administration", _REF, ("procedure_code",), categorical=True),
        f("is_em", "evaluation and management visit code", "administration", _REF, ("procedure_code",)),
        f("revenue_code", "837I revenue code", "claim", _SUBMIT, ("revenue_code",), categorical=True),
        f("line_number", "position of the line on the claim", "claim", _SUBMIT, ("line_number",)),
        # modifiers
        *[
            f(f"mod_{name}", f"modifier {'/'.join(mods)} on the line", "waste_modifier"
              if name in ("jw", "jz") else "modifiers", _SUBMIT, ("modifiers",))
            for name, mods in MODIFIER_FLAGS.items()
        ],
        f("modifier_count", "number of modifiers on the line", "modifiers", _SUBMIT, ("modifiers",)),
        f("waste_modifier_missing", "single-dose drug line without JW or JZ and no JW line for the drug",
          "waste_modifier", _SUBMIT, ("procedure_code", "modifiers", "claim_id"), monotone=1),
        f("em_without_25_on_admin_day", "E/M line without modifier 25 on a claim with an administration code",
          "administration", _SUBMIT, ("procedure_code", "modifiers", "claim_id"), monotone=1),
        # units and money
        f("units", "billed units", "units", _SUBMIT, ("units",)),
        f("units_over_limit", "units / the code's unit limit (MUE-like)", "units", _REF,
          ("units", "procedure_code"), monotone=1),
        f("units_vs_typical", "units / the median units of the code in the training history", "units",
          _SUBMIT, ("units", "procedure_code")),
        f("charge_per_unit_vs_limit", "charge per unit / the quarter's Medicare payment limit", "charges",
          _REF, ("line_charge", "units", "procedure_code", "service_date")),
        f("log_expected_allowed", "log(1 + units x the quarter's payment limit): dollars at stake", "charges",
          _REF, ("units", "procedure_code", "service_date")),
        f("log_line_charge", "log(1 + line charge)", "charges", _SUBMIT, ("line_charge",)),
        f("ndc_present", "an NDC is reported on the line", "ndc", _SUBMIT, ("ndc",)),
        f("ndc_matches", "the NDC belongs to the HCPCS code (crosswalk; missing when no NDC)", "ndc", _REF,
          ("ndc", "procedure_code")),
        # claim
        f("payer_id", "payer", "payer", _SUBMIT, ("payer_id",), categorical=True),
        f("plan_type", "medicare, medicare_advantage, medicaid or commercial", "payer", _SUBMIT,
          ("plan_type",), categorical=True),
        f("institutional", "837I hospital outpatient claim (else 837P office)", "claim", _SUBMIT, ("form",)),
        f("place_of_service", "837P place of service", "claim", _SUBMIT, ("place_of_service",),
          categorical=True),
        f("type_of_bill", "837I type of bill", "claim", _SUBMIT, ("type_of_bill",), categorical=True),
        f("claim_line_count", "lines on the claim", "claim", _SUBMIT, ("claim_line_count",)),
        f("claim_drug_lines", "drug lines on the claim", "claim", _SUBMIT, ("procedure_code", "claim_id")),
        f("log_claim_charge", "log(1 + total claim charge)", "charges", _SUBMIT, ("claim_total_charge",)),
        f("replacement", "claim frequency 7 or 8 (replacement or void)", "claim", _SUBMIT,
          ("frequency_code",)),
        f("patient_age", "patient age in years (capped at 90)", "patient", _SUBMIT, ("patient_age",)),
        f("is_dependent", "the patient is a dependent of the subscriber", "patient", _SUBMIT,
          ("is_dependent",)),
        # diagnoses
        f("neoplasm_site", "3-character ICD-10 category of the first neoplasm diagnosis", "diagnosis", _SUBMIT,
          ("diagnoses",), categorical=True),
        f("dx_count", "diagnoses on the claim", "diagnosis", _SUBMIT, ("diagnoses",)),
        f("dx_z51_11", "Z51.11 (antineoplastic chemotherapy encounter) on the claim", "diagnosis", _SUBMIT,
          ("diagnoses",)),
        f("dx_z51_12", "Z51.12 (immunotherapy encounter) on the claim", "diagnosis", _SUBMIT, ("diagnoses",)),
        f("dx_z51_first", "a Z51.1x code is listed first", "diagnosis", _SUBMIT, ("principal_diagnosis",)),
        f("dx_metastatic", "a secondary-neoplasm code (C77-C79) on the claim", "diagnosis", _SUBMIT,
          ("diagnoses",)),
        f("dx_label_match", "a diagnosis fits the drug's labeled indications (missing for non-drugs)",
          "diagnosis", _REF, ("diagnoses", "procedure_code")),
        # trials
        f("trial_nct", "NCT number on the claim", "trial", _SUBMIT, ("clinical_trial_number",)),
        f("trial_z00_6", "Z00.6 (clinical trial) on the claim", "trial", _SUBMIT, ("diagnoses",)),
        f("trial_condition_30", "condition code 30 on the claim", "trial", _SUBMIT, ("condition_codes",)),
        f("investigational_code", "J9999 / unlisted drug code on the line", "trial", _SUBMIT,
          ("procedure_code",)),
        # timing
        f("days_to_submission", "days from the first service date to submission", "timing", _SUBMIT,
          ("submission_date", "claim_service_from"), monotone=1),
        f("service_span_days", "days from the first to the last service date", "timing", _SUBMIT,
          ("claim_service_from", "claim_service_to")),
        # authorization
        *[
            f(f"auth_{status}", f"authorization status at submission: {status.replace('_', ' ')}",
              "authorization", _SUBMIT, ("auth_status",), monotone=int(status in AUTH_PROBLEMS))
            for status in AUTH_STATUSES
        ],
        f("auth_number_on_claim", "an authorization number is on the line or claim", "authorization", _SUBMIT,
          ("claim_prior_authorization", "line_prior_authorization")),
        # audit
        f("audit_errors", "error findings of the coding audit on the line (and claim-wide)", "claim",
          _SUBMIT, ("audit_errors",), monotone=1),
        *[
            f(f"audit_{rule_id}", f"audit rule {rule_id} flagged the line (or the whole claim)",
              audit_group(rule_id), _SUBMIT, ("audit_rules",), monotone=1)
            for rule_id in rule_ids
        ],
        # history, point in time
        f("hist_payer_rate", "payer's denial rate (smoothed)", "history", _HIST, ("payer_id",)),
        f("hist_payer_code_rate", "payer's denial rate for this code (smoothed toward the payer's)",
          "history", _HIST, ("payer_id", "procedure_code")),
        f("hist_payer_code_n", "log(1 + outcomes of this payer and code)", "history", _HIST,
          ("payer_id", "procedure_code")),
        f("hist_payer_class_rate", "payer's denial rate for this drug class or service (smoothed)", "history",
          _HIST, ("payer_id", "procedure_code")),
        f("hist_payer_code_auth_rate", "payer's authorization-denial rate for this code (smoothed)",
          "history", _HIST, ("payer_id", "procedure_code")),
    ]  # fmt: skip
    return specs


def catalogue_markdown(specs: list[FeatureSpec]) -> str:
    """The catalogue as a Markdown table (docs/feature-catalogue.md is generated from it)."""
    rows = [
        "| feature | meaning | group | known | reads |",
        "|---|---|---|---|---|",
    ]
    for spec in specs:
        kind = " (categorical)" if spec.categorical else ""
        reads = ", ".join(f"`{s}`" for s in spec.sources)
        rows.append(f"| `{spec.name}`{kind} | {spec.meaning} | {spec.group} | {spec.known} | {reads} |")
    return "\n".join(rows) + "\n"
