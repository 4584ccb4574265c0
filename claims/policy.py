"""Payer policies: what each payer requires and how it behaves, as data with a validated schema.

The audit checks claims against the billed payer's policy (prior authorization, diagnosis coverage, NDC and
JW/JZ requirements, timely filing, trial billing); the simulator's payers adjudicate by it. The default
market (``claims/reference/data/payer_policies.yaml``) is the simulated one: every number there is a
simulator default chosen to be plausible against the published figures in oncology-billing.md section
5.4, not a real payer's rule; a practice points :func:`read_payers` at a file describing its own payers.
Rules that change over time carry ``effective_from`` / ``effective_to`` dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from claims.enums import DrugClass, PlanType
from claims.errors import ClaimsError

__all__ = [
    "CoverageRule",
    "PayerPolicy",
    "PolicyError",
    "PriorAuthRule",
    "UnpublishedEdit",
    "load_payers",
    "read_payers",
]


class PolicyError(ClaimsError):
    """A payer policy file is malformed (the message names the file and the field path)."""


#: Answers of PayerPolicy.requires_auth (policies are frozen), keyed by the policy's id and the question;
#: the policy is kept with its answer so that a recycled id is never taken for it. At most _MEMO_SIZE.
_AUTH_MEMO: dict[tuple[int, str, DrugClass | None, dt.date], tuple[PayerPolicy, bool]] = {}
_MEMO_SIZE = 4096


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Dated(_Frozen):
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None

    def in_effect(self, on: dt.date) -> bool:
        return (self.effective_from is None or on >= self.effective_from) and (
            self.effective_to is None or on <= self.effective_to
        )


class PriorAuthRule(Dated):
    """Prior authorization required for drugs of these classes or codes (dated)."""

    drug_classes: tuple[DrugClass, ...] = ()
    codes: tuple[str, ...] = ()
    note: str = ""


class CoverageRule(Dated):
    """From ``effective_from``, ``code`` is covered only for diagnoses starting with these prefixes."""

    code: str
    icd10_prefixes: tuple[str, ...]
    note: str = ""


class BiosimilarPreference(Dated):
    """The payer pays ``reference`` only with a step exception; it prefers one of ``preferred``."""

    reference: str
    preferred: tuple[str, ...]


class UnpublishedEdit(Dated):
    """Payer behaviour written in no published policy: no audit rule can know it, a payer's history shows it.

    ``site_of_care``: infusions of these drug classes billed by a hospital outpatient department (837I)
    for patients younger than ``max_age`` are denied with ``probability`` (the payer wants them in the
    office or at home; site-of-care programmes of commercial plans). ``high_dollar_review``: lines whose
    expected allowed amount is at least ``threshold`` dollars go to a prepayment review that denies with
    ``probability`` (a payer-specific, unannounced dollar threshold). SIMULATOR DEFAULTS, not real rules.
    """

    kind: Literal["site_of_care", "high_dollar_review"]
    probability: float = Field(ge=0, le=1)
    drug_classes: tuple[DrugClass, ...] = ()
    max_age: int | None = Field(default=None, gt=0)
    threshold: float | None = Field(default=None, gt=0)
    note: str = ""


class PayerPolicy(_Frozen):
    """One payer's identity, share of the practice's patients, and behaviour."""

    key: str
    payer_id: str
    name: str
    plan_type: PlanType
    share_under_65: float = Field(ge=0)
    share_65_plus: float = Field(ge=0)
    obm: str | None = None  # oncology benefit manager reviewing regimens
    prior_auth: tuple[PriorAuthRule, ...] = ()
    coverage: tuple[CoverageRule, ...] = ()
    biosimilar_preferences: tuple[BiosimilarPreference, ...] = ()
    requires_ndc: bool = False
    jw_jz_enforced_from: dt.date | None = None
    jw_jz_strictness: float = Field(ge=0, le=1)  # chance a line missing JW/JZ is denied once enforced
    modifier_25_strictness: float = Field(ge=0, le=1)
    ncci_strictness: float = Field(ge=0, le=1)  # second initial without 59/X, add-on without primary
    dx_strictness: float = Field(ge=0, le=1)  # diagnosis outside the drug's coverage
    trial_policy: Literal["ncd_310_1", "bill_medicare", "covers_routine"]
    timely_filing_days: int = Field(gt=0)
    allowed_percent_of_asp: float = Field(gt=0)  # drug allowed = this x the CMS payment limit
    admin_percent_of_opps: float = Field(gt=0)  # administration allowed = this x the OPPS national rate
    eligibility_denial_rate: float = Field(ge=0, le=1)
    review_rate: float = Field(ge=0, le=1)  # chance a line costing $8,000 or more goes to medical review
    review_denial_rate: float = Field(ge=0, le=1)
    random_denial_rate: float = Field(ge=0, le=1)  # missing-information returns nobody could foresee
    remit_lag_days: tuple[int, int]
    coinsurance: float = Field(ge=0, le=1)
    sequestration: bool = False
    # Never read by the audit: behaviour only the payer's own history reveals.
    unpublished: tuple[UnpublishedEdit, ...] = ()

    @model_validator(mode="after")
    def _lag(self) -> PayerPolicy:
        low, high = self.remit_lag_days
        if not 0 < low <= high:
            raise ValueError("remit_lag_days must be (low, high) with 0 < low <= high")
        return self

    def requires_auth(self, code: str, drug_class: DrugClass | None, on: dt.date) -> bool:
        """True when a prior authorization is required for ``code`` on ``on`` (never for Medicare FFS)."""
        key = (id(self), code, drug_class, on)
        hit = _AUTH_MEMO.get(key)
        if hit is not None and hit[0] is self:
            return hit[1]
        found = any(
            rule.in_effect(on)
            and (code in rule.codes or (drug_class is not None and drug_class in rule.drug_classes))
            for rule in self.prior_auth
        )
        if len(_AUTH_MEMO) >= _MEMO_SIZE:
            _AUTH_MEMO.clear()
        _AUTH_MEMO[key] = (self, found)
        return found

    def covered_prefixes(self, code: str, on: dt.date) -> tuple[str, ...] | None:
        """The payer's own diagnosis list for ``code`` on ``on``, or None when it follows the label."""
        for rule in self.coverage:
            if rule.code == code and rule.in_effect(on):
                return rule.icd10_prefixes
        return None

    def preferred_instead_of(self, code: str, on: dt.date) -> tuple[str, ...]:
        for pref in self.biosimilar_preferences:
            if pref.reference == code and pref.in_effect(on):
                return pref.preferred
        return ()


class _PayerFile(_Frozen):
    payers: tuple[PayerPolicy, ...]


def read_payers(path: Path | Any) -> Mapping[str, PayerPolicy]:
    """Read and validate a payer policy file; errors name the file and the field path."""
    name = getattr(path, "name", str(path))
    try:
        raw = yaml.safe_load(path.read_text())
        parsed = _PayerFile.model_validate(raw)
    except yaml.YAMLError as e:
        raise PolicyError(f"{name}: not valid YAML ({e})") from e
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"{name}: {loc}: {first['msg']}") from e
    if PlanType.MEDICARE in {p.plan_type for p in parsed.payers}:
        for payer in parsed.payers:
            if payer.plan_type is PlanType.MEDICARE and payer.prior_auth:
                raise PolicyError(
                    f"{name}: {payer.key}: Medicare FFS requires no prior auth for Part B drugs"
                )
    return MappingProxyType({p.key: p for p in parsed.payers})


@cache
def load_payers() -> Mapping[str, PayerPolicy]:
    """The default (simulated) market: ``claims/reference/data/payer_policies.yaml``."""
    return read_payers(files("claims.reference") / "data" / "payer_policies.yaml")
