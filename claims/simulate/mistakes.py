"""Coder mistakes injected into correctly coded claims at configured rates, each recorded as ground truth.

Every mistake is one that a billing office really makes (oncology-billing.md 0-4, 7): unit conversion,
missing or wrong JW/JZ, JW without waste, a second initial administration code, an add-on without its
primary, a missing modifier 25, a missing trial element (NCT, Q0, Q1, Z00.6, or an MA trial claim sent to
the plan), a diagnosis the drug is not covered for, an NDC of another HCPCS code, a missing authorization
number, a late submission and a duplicate submission.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from claims.model import Claim, ClaimLine
from claims.reference import load_admin_codes, load_drugs, load_ndc_crosswalk
from claims.simulate.config import SimulationConfig
from claims.simulate.practice import Encounter, diagnosis_of, payer_of
from claims.trusted import trusted

__all__ = ["ERROR_TYPES", "inject_mistakes"]

INITIAL_CODES = ("96413", "96409", "96365", "96374", "96360")
EM_CODES = ("99211", "99212", "99213", "99214", "99215", "G0463")

ERROR_TYPES = (
    "unit_conversion", "missing_jw_jz", "jw_without_waste", "second_initial", "addon_without_primary",
    "missing_modifier_25", "missing_trial_element", "diagnosis_not_covered", "ndc_mismatch",
    "auth_number_missing", "late_submission", "duplicate_submission",
)  # fmt: skip


def _editable(claim: Claim) -> dict[str, Any]:
    """The claim's fields as a dict that a mistake may change without touching ``claim``: its lines as
    dicts (with their own modifier lists), its diagnoses as codes; the other values are shared."""
    data = dict(claim.__dict__)
    data["lines"] = [dict(line.__dict__, modifiers=list(line.modifiers)) for line in claim.lines]
    data["diagnoses"] = [d.code for d in claim.diagnoses]
    return data


def _rebuilt(data: dict[str, Any]) -> Claim:
    """The claim of ``data`` (from :func:`_editable`, then changed), built without validation: every value a
    mistake puts in is one the simulator's own validated data holds (``Decimal`` units, dotted ICD-10
    codes, 11-digit NDCs from the crosswalk, known modifiers and codes); ``tests/claims/test_simulate.py``
    re-validates the claims of a run and checks that nothing changes."""
    lines = [trusted(ClaimLine, **line) for line in _lines(data)]
    diagnoses = [diagnosis_of(code) for code in data["diagnoses"]]
    return trusted(Claim, **(data | {"diagnoses": diagnoses, "lines": lines}))


def _lines(data: dict[str, Any]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = data["lines"]
    return lines


def _renumber(data: dict[str, Any], claim_id: str) -> None:
    for number, line in enumerate(_lines(data), start=1):
        line["line_number"] = number
        line["control_number"] = f"{claim_id}-{number}"


def inject_mistakes(
    rng: random.Random,
    encounters: list[Encounter],
    config: SimulationConfig,
) -> list[Encounter]:
    """Apply the configured mistakes; returns the encounters to submit (duplicates appended)."""
    rates = config.coder_errors
    drugs = load_drugs()
    crosswalk = load_ndc_crosswalk()
    foreign_ndcs = sorted(crosswalk)
    out: list[Encounter] = []
    for encounter in encounters:
        claim = encounter.claim
        data = _editable(claim)
        lines = _lines(data)
        # The line itself is recorded, not its number: a later mistake may remove a line and renumber.
        errors: list[tuple[dict[str, Any] | None, str]] = []
        changed = False

        def mark(
            line: dict[str, Any] | None, kind: str, errors: list[tuple[dict[str, Any] | None, str]] = errors
        ) -> None:
            nonlocal changed
            changed = True
            errors.append((line, kind))

        for line in list(lines):
            code = line["procedure_code"]
            drug = drugs.get(code)
            if drug is None or "JW" in line["modifiers"]:
                continue
            if rng.random() < rates.unit_conversion:
                units = Decimal(line["units"])
                choice = rng.random()
                line["units"] = (
                    units * 10
                    if choice < 0.55
                    else (max(Decimal(1), (units / 10).to_integral_value()) if choice < 0.8 else Decimal(1))
                )
                if line["units"] != units:
                    mark(line, "unit_conversion")
            if "JZ" in line["modifiers"]:
                if rng.random() < rates.missing_jw_jz:
                    line["modifiers"].remove("JZ")
                    mark(line, "missing_jw_jz")
                elif rng.random() < rates.jw_without_waste:
                    waste = dict(
                        line,
                        units=Decimal(rng.randint(1, 3)),
                        modifiers=["JW"],
                        ndc_quantity=line["ndc_quantity"],
                    )
                    lines.insert(lines.index(line) + 1, waste)
                    _renumber(data, claim.claim_id)
                    mark(waste, "jw_without_waste")
            if line.get("ndc") and rng.random() < rates.ndc_mismatch:
                other = foreign_ndcs[rng.randrange(len(foreign_ndcs))]
                if crosswalk[other].hcpcs != code:
                    line["ndc"] = other
                    mark(line, "ndc_mismatch")
        codes = [line["procedure_code"] for line in lines]
        sequential = [line for line in lines if line["procedure_code"] in ("96417", "96367")]
        if sequential and rng.random() < rates.second_initial:
            line = sequential[0]
            line["procedure_code"] = "96413" if line["procedure_code"] == "96417" else "96365"
            mark(line, "second_initial")
        elif any(c in INITIAL_CODES for c in codes) and rng.random() < rates.addon_without_primary:
            initial = next(line for line in lines if line["procedure_code"] in INITIAL_CODES)
            add_ons = [line for line in lines if _needs(line["procedure_code"], initial["procedure_code"])]
            if add_ons:
                lines.remove(initial)
                _renumber(data, claim.claim_id)
                mark(add_ons[0], "addon_without_primary")
        for line in lines:
            is_em = line["procedure_code"] in EM_CODES and "25" in line["modifiers"]
            if is_em and rng.random() < rates.missing_modifier_25:
                line["modifiers"].remove("25")
                mark(line, "missing_modifier_25")
        if data["clinical_trial_number"] and rng.random() < rates.missing_trial_element:
            _trial_mistake(rng, data, encounter, mark)
        if (
            any(line["procedure_code"] in drugs for line in lines)
            and rng.random() < rates.diagnosis_not_covered
        ):
            dx = data["diagnoses"][1]
            replacement = rng.choice(
                [c for c in ("C61", "C64.9", "C73", "C43.9", "C71.9", "C22.0") if c[:3] != dx[:3]]
            )
            data["diagnoses"][1] = replacement
            mark(None, "diagnosis_not_covered")
        if data["prior_authorization"] and rng.random() < rates.auth_number_missing:
            data["prior_authorization"] = None
            mark(None, "auth_number_missing")
        if rng.random() < rates.late_submission:
            late = encounter.billed_payer.timely_filing_days + rng.randint(5, 90)
            data["submission_date"] = max(line["service_date"] for line in lines) + dt.timedelta(days=late)
            mark(None, "late_submission")
        if changed:
            encounter.claim = _rebuilt(data)
            encounter.errors.extend(
                (line["line_number"] if line is not None else None, kind) for line, kind in errors
            )
        out.append(encounter)
        if rng.random() < rates.duplicate_submission:
            first = encounter.claim.submission_date or encounter.claim.service_to
            again = first + dt.timedelta(days=rng.randint(7, 21))
            # The same claim sent again: a copy sharing its (unchanged) lines.
            duplicate = encounter.claim.model_copy(update={"submission_date": again})
            out.append(Encounter(course=encounter.course, claim=duplicate, doses=encounter.doses,
                                 waste_lines=encounter.waste_lines, billed_payer=encounter.billed_payer,
                                 errors=[(None, "duplicate_submission")]))  # fmt: skip
    return out


def _needs(code: str, primary: str) -> bool:
    admin = load_admin_codes().get(code)
    return admin is not None and primary in admin.allowed_primaries


def _trial_mistake(rng: random.Random, data: dict[str, Any], encounter: Encounter,
                   mark: Callable[[dict[str, Any] | None, str], None]) -> None:  # fmt: skip
    lines = _lines(data)
    plan = encounter.course.profile.payer
    options = ["nct", "z006", "q1"]
    if any(line["procedure_code"] == "J9999" for line in lines):
        options.append("q0")
    if plan.trial_policy == "bill_medicare":
        options.append("billed_to_plan")
    choice = rng.choice(options)
    if choice == "nct":
        data["clinical_trial_number"] = None
        mark(None, "missing_trial_element")
    elif choice == "z006":
        data["diagnoses"] = [d for d in data["diagnoses"] if d != "Z00.6"]
        mark(None, "missing_trial_element")
    elif choice == "q1":
        for line in lines:
            if "Q1" in line["modifiers"]:
                line["modifiers"].remove("Q1")
        mark(None, "missing_trial_element")
    elif choice == "q0":
        line = next(line for line in lines if line["procedure_code"] == "J9999")
        line["modifiers"].remove("Q0")
        mark(line, "missing_trial_element")
    else:
        data["payer"] = payer_of(plan)
        encounter.billed_payer = plan
        mark(None, "missing_trial_element")
