"""Payer behaviour that no published policy states (``PayerPolicy.unpublished``): what only history shows.

Real payers run edits they do not publish: site-of-care programmes that steer infusions of costly biologics
out of hospital outpatient departments, prepayment review above a dollar threshold they do not announce.
No audit rule can know them (the audit never reads ``unpublished``); a model can learn them from the
payer's denials over time. Each edit gives a cause (name, probability, CARC, category) for one line.
"""

from __future__ import annotations

import datetime as dt

from claims.enums import ClaimForm, DenialCategory
from claims.model import Claim
from claims.policy import PayerPolicy
from claims.reference.drugs import Drug

__all__ = ["unpublished_causes"]


def unpublished_causes(
    payer: PayerPolicy, claim: Claim, drug: Drug | None, age: int, cost: float, on: dt.date
) -> list[tuple[str, float, str, DenialCategory]]:
    """The unpublished edits of ``payer`` that apply to a drug line costing ``cost`` dollars on ``on``."""
    causes: list[tuple[str, float, str, DenialCategory]] = []
    if drug is None:
        return causes
    for edit in payer.unpublished:
        if not edit.in_effect(on):
            continue
        if edit.kind == "site_of_care":
            if (
                claim.form is ClaimForm.INSTITUTIONAL
                and drug.drug_class in edit.drug_classes
                and (edit.max_age is None or age < edit.max_age)
            ):
                causes.append(("site_of_care", edit.probability, "50", DenialCategory.MEDICAL_NECESSITY))
        elif edit.threshold is not None and cost >= edit.threshold:
            causes.append(("high_dollar_review", edit.probability, "50", DenialCategory.MEDICAL_NECESSITY))
    return causes
