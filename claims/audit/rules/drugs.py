"""Drug-line rules: billing units, unit limits, NDC reporting, JW/JZ waste modifiers and drug codes.

Conventions (oncology-billing.md 0, 1.1, 2.3, 3, 6, 8.2):

* a drug line reports HCPCS *billing units* (J9271 is per 1 mg, so 200 mg = 200 units), whole numbers;
* a single-dose-container drug line carries JZ when nothing was discarded; when drug was discarded the
  administered line carries *neither* modifier and a separate line of the same code with JW carries the
  discarded units (CMS: JZ required from 2023-07-01, claims without JW/JZ returned from 2023-10-01);
  multiple-dose containers take neither; packaged OPPS drugs (status indicator N) on hospital claims are
  outside the CMS JW/JZ policy;
* the NDC (2410 LIN03) must be a package of the billed HCPCS code in the CMS NDC-HCPCS crosswalk and its
  quantity (CTP04) must be consistent with the billed units;
* unit limits are the simulator's MUE-like proxy (``claims.reference.unit_limits``), not the CMS MUE table.

Messages name the line and code only, never patient data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from functools import cache, lru_cache

from claims.audit.engine import AuditContext, Finding, Fix, FixAction, Rule, Severity, rule
from claims.audit.facts import ClaimFacts, claim_facts
from claims.enums import ClaimForm, ContainerType, DrugClass, NdcUnit, PlanType
from claims.model import Claim, ClaimLine
from claims.reference import (
    Drug,
    NdcPackage,
    hcpcs_for_ndc,
    load_admin_codes,
    load_drugs,
    load_ndc_crosswalk,
    ndcs_for_hcpcs,
)
from claims.reference.modifiers import JZ_REQUIRED_FROM, MEDICARE_JW_JZ_ENFORCED_FROM
from claims.reference.unit_limits import load_unit_limits

__all__ = [
    "DELETED_CODES",
    "MEDICARE_JW_JZ_ENFORCED_FROM",
    "MULTIPLE_DOSE_PRESENTATIONS",
    "NOC_CODES",
    "RULES",
    "drug_code_unknown",
    "drug_noc_description",
    "drug_units_dose",
    "drug_units_limit",
    "drug_units_ndc_quantity",
    "drug_units_whole",
    "jw_without_administered",
    "jwjz_both",
    "jwjz_missing",
    "jwjz_multiple_dose",
    "ndc_mismatch",
    "ndc_missing",
]

#: Not-otherwise-classified drug codes: the line needs the drug name, dose and NDC in its description.
NOC_CODES = frozenset({"J9999", "J3490", "J3590", "C9399"})
#: Drug codes that are no longer billable, with what to bill instead (oncology-billing.md 1.1).
DELETED_CODES: Mapping[str, str] = {
    "J9070": "J9070 (cyclophosphamide per 100 mg) is no longer in the CMS payment files; bill the "
    "manufacturer-specific 5 mg code (J9071-J9076, J9075 when not otherwise specified)",
    "J2505": "J2505 (pegfilgrastim per 6 mg) was deleted on 2022-01-01; bill J2506 per 0.5 mg "
    "(a 6 mg dose is 12 units) or the biosimilar's Q-code",
}

#: Presentations of single-dose-table drugs that come in multiple-dose vials (drugs.csv container_note):
#: HCPCS code -> crosswalk package sizes (mL). Such a line takes neither JW nor JZ.
MULTIPLE_DOSE_PRESENTATIONS: Mapping[str, frozenset[str]] = {
    "J1100": frozenset({"30"}),  # dexamethasone 30 mL vial
    "J2405": frozenset({"20"}),  # ondansetron 40 mg/20 mL vial
}

_DRUG_LOOKING = re.compile(r"^[JQ][0-9]{4}$")
#: Q-codes that look like drugs but are services (Q0081/Q0083-Q0085 infusion and chemotherapy administration).
_NOT_DRUGS = frozenset({"Q0081", "Q0083", "Q0084", "Q0085"})
_HALF = Decimal("0.5")
_TWO = Decimal(2)
_TEN = Decimal(10)
_JW_JZ = frozenset({"JW", "JZ"})
_MAX_MODIFIERS = 4

_CITE_UNITS = "HCPCS billing-unit descriptors (CMS ASP file); oncology-billing.md 0 and 8.2 (SV104/SV205)"
_CITE_NDC_QTY = "837 loop 2410 CTP04/CTP05 and the CMS ASP NDC-HCPCS crosswalk; oncology-billing.md 8.2"
_CITE_LIMIT = (
    "MUE-like unit limit, simulator proxy per oncology-billing.md 2.3 and 6 [UNVERIFIED, not the CMS MUE "
    "table]; denial CO-151 or CO-96/N362"
)
_CITE_DOSE = "Dose-to-unit conversion, oncology-billing.md 0 and 1.1 (dose rule from drugs.csv)"
_CITE_NDC = (
    "837 loop 2410 LIN03 NDC and the CMS ASP NDC-HCPCS crosswalk; oncology-billing.md 1.1, 8.2 (CO-16/M119)"
)
_CITE_JWJZ = (
    "CMS JW/JZ modifier policy (JZ required from 2023-07-01, claims returned from 2023-10-01); "
    "oncology-billing.md 3"
)
_CITE_CODES = "HCPCS Level II drug codes (CMS ASP file 2026Q1); oncology-billing.md 1 and 1.1"
_CITE_NOC = "NOC drug codes need drug name, dose and NDC in SV101-7/NTE (RARC N350); oncology-billing.md 1.1"


# --- helpers ------------------------------------------------------------------------------------------------


def _units(value: Decimal) -> str:
    """A unit count as a biller writes it: 200, 0.5 (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")


def _n_units(value: Decimal | int) -> str:
    """``1 unit``, ``200 units``."""
    text = _units(Decimal(value))
    return f"{text} unit" if text == "1" else f"{text} units"


def _where(line: ClaimLine) -> str:
    return f"Line {line.line_number} ({line.procedure_code})"


def _finding(
    rule_: Rule, severity: Severity, lines: tuple[int, ...], message: str, fix: Fix | None = None
) -> Finding:
    """A finding whose severity may differ from the rule's default (e.g. a warning before enforcement)."""
    return Finding(rule_.id, severity, lines, message, rule_.citation, fix)


def _is_waste(line: ClaimLine) -> bool:
    return "JW" in line.modifiers


@lru_cache(maxsize=8192)
def _ndc_code(ndc: str) -> str | None:
    """The HCPCS code the NDC bills under (remembered: the crosswalk is fixed and NDCs recur)."""
    return hcpcs_for_ndc(ndc)


def _container(drug: Drug, line: ClaimLine) -> ContainerType:
    """The line's container: the drug's, unless its NDC is a multiple-dose presentation of the code."""
    sizes = MULTIPLE_DOSE_PRESENTATIONS.get(drug.code)
    if (
        sizes
        and line.ndc is not None
        and _ndc_code(line.ndc) == drug.code
        and load_ndc_crosswalk()[line.ndc].package_size in sizes
    ):
        return ContainerType.MULTIPLE_DOSE
    return drug.container


def _requires_ndc(claim: Claim, context: AuditContext) -> bool:
    """The billed payer's policy when known; otherwise Medicaid (rebate collection) requires the NDC."""
    if context.payer is not None:
        return bool(getattr(context.payer, "requires_ndc", False))
    return claim.payer.plan_type is PlanType.MEDICAID


def _jw_jz_enforced_from(claim: Claim, context: AuditContext) -> dt.date | None:
    """When the payer starts returning/denying lines without JW/JZ (None: it does not enforce them)."""
    if context.payer is not None:
        value = getattr(context.payer, "jw_jz_enforced_from", None)
        return value if isinstance(value, dt.date) else None
    if claim.payer.plan_type in (PlanType.MEDICARE, PlanType.MEDICARE_ADVANTAGE):
        return MEDICARE_JW_JZ_ENFORCED_FROM
    return None


def _units_with_waste(facts: ClaimFacts, line: ClaimLine) -> Decimal:
    """Units drawn from the line's packages: its own, plus the JW units of the same drug and date when it is
    the first administered line of that drug (the JW line's NDC quantity is conventionally not counted)."""
    same = facts.same_drug_as(line)
    if len(same) == 1:  # no other line of the drug that day: no JW units to add
        return line.units
    administered = [other for other in same if not _is_waste(other)]
    if not administered or administered[0].line_number != line.line_number:
        return line.units
    return line.units + sum((other.units for other in same if _is_waste(other)), Decimal(0))


def _capacity(package: NdcPackage, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """Billing units that ``quantity`` (CTP04, unit UN) of the package can hold: (low, high).

    High reads CTP04 as whole packages of this NDC (the larger of units per item and per package). Low
    reads it as items, allowing a line drawn from mixed vial sizes and reported under one NDC: one item of
    this NDC plus ``quantity - 1`` of the code's smallest item in the crosswalk.
    """
    item, package_units = sorted((package.billing_units_per_item, package.billing_units_per_package))
    smallest = min(_smallest_item(package.hcpcs, item), item)
    return item + (quantity - 1) * smallest, quantity * package_units


@cache
def _smallest_item(code: str, default: Decimal) -> Decimal:
    """The smallest package item of ``code`` in the crosswalk, in billing units (cached: the table is fixed)."""
    return min(
        (min(p.billing_units_per_item, p.billing_units_per_package) for p in ndcs_for_hcpcs(code)),
        default=default,
    )


def _quantity_fits(units: Decimal, package: NdcPackage, quantity: Decimal) -> bool:
    """True unless the units exceed what the packages hold or are below half of the least they hold."""
    low, high = _capacity(package, quantity)
    return high <= 0 or (units <= high and units >= low * _HALF)


@lru_cache(maxsize=8192)
def _ndc_quantity_fits(units: Decimal, ndc: str, quantity: Decimal) -> bool:
    """:func:`_quantity_fits` for a crosswalk NDC (remembered: the crosswalk is fixed and the same doses recur)."""
    return _quantity_fits(units, load_ndc_crosswalk()[ndc], quantity)


def _ndc_list(code: str, limit: int = 5) -> str:
    packages = ndcs_for_hcpcs(code)
    shown = ", ".join(p.ndc for p in packages[:limit])
    more = len(packages) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _replacement_ndc(facts: ClaimFacts, line: ClaimLine) -> NdcPackage | None:
    """An NDC of the line's own HCPCS code that fits the billed units and NDC quantity, if any."""
    code = line.procedure_code
    packages = ndcs_for_hcpcs(code)
    if not packages:
        return None
    if _is_waste(line):  # a JW line takes the NDC of the administered drug
        for other in facts.same_drug_as(line):
            if not _is_waste(other) and other.ndc is not None and _ndc_code(other.ndc) == code:
                return load_ndc_crosswalk()[other.ndc]
        return packages[0] if len(packages) == 1 else None
    quantity = line.ndc_quantity
    if line.ndc_unit is not NdcUnit.UNIT or quantity is None:
        return packages[0] if len(packages) == 1 else None
    return _fitting_package(code, _units_with_waste(facts, line), quantity)


@lru_cache(maxsize=4096)
def _fitting_package(code: str, units: Decimal, quantity: Decimal) -> NdcPackage | None:
    """The package of ``code`` whose ``quantity`` holds ``units`` exactly, else the smallest that fits
    (remembered: the crosswalk is fixed and the same doses recur)."""
    fitting = [p for p in ndcs_for_hcpcs(code) if _quantity_fits(units, p, quantity)]
    if not fitting:
        return None
    exact = [
        p
        for p in fitting
        if units in (quantity * p.billing_units_per_package, quantity * p.billing_units_per_item)
    ]
    if exact:
        return exact[0]
    return min(fitting, key=lambda p: (_capacity(p, quantity)[1], p.ndc))


@cache
def _limit_and_smallest_vial(code: str) -> tuple[Decimal, Decimal]:
    """The unit limit of a code in the limits table, and its smallest vial in billing units (0 when unknown)
    (remembered: both tables are fixed)."""
    drug = load_drugs().get(code)
    # a tenth below half the smallest vial is not a plausible dose (an 840 mg loading dose is not 84 mg)
    smallest = (
        min(drug.vial_sizes) / drug.billing_unit.amount
        if drug is not None and drug.vial_sizes
        else Decimal(0)
    )
    return Decimal(load_unit_limits()[code]), smallest


def _dose_facts(context: AuditContext) -> dict[int, Decimal]:
    raw = context.extra.get("dose_facts")
    if not isinstance(raw, Mapping):
        return {}
    facts: dict[int, Decimal] = {}
    for key, value in raw.items():
        try:
            number = int(key)
            expected = Decimal(str(value))
        except (TypeError, ValueError, InvalidOperation):
            continue
        if expected.is_finite() and expected > 0:
            facts[number] = expected
    return facts


# --- units --------------------------------------------------------------------------------------------------


@rule(
    id="DRUG-UNITS-WHOLE",
    title="Drug units are not a whole number of billing units",
    severity=Severity.ERROR,
    citation=_CITE_UNITS,
)
def drug_units_whole(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    for line, drug in claim_facts(claim, context).drug_lines:
        if line.units == line.units.to_integral_value():
            continue
        rounded = line.units.to_integral_value(rounding=ROUND_CEILING)
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: {_n_units(line.units)} is not a whole number of billing units "
            f"({drug.billing_unit.descriptor} per unit); round the dose up to {_n_units(rounded)}.",
            Fix(FixAction.SET_UNITS, line.line_number, rounded, f"bill {_n_units(rounded)}"),
        )


@rule(
    id="DRUG-UNITS-NDC",
    title="Drug units inconsistent with the NDC quantity",
    severity=Severity.WARNING,
    citation=_CITE_NDC_QTY,
)
def drug_units_ndc_quantity(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    crosswalk = load_ndc_crosswalk()
    facts = claim_facts(claim, context)
    for line, _drug in facts.drug_lines:
        quantity = line.ndc_quantity
        if (
            _is_waste(line)
            or line.ndc is None
            or quantity is None
            or line.ndc_unit is not NdcUnit.UNIT
            or _ndc_code(line.ndc) != line.procedure_code  # a mismatched NDC is NDC-MISMATCH's finding
        ):
            continue
        units = _units_with_waste(facts, line)
        if _ndc_quantity_fits(units, line.ndc, quantity):
            continue
        package = crosswalk[line.ndc]
        low, high = _capacity(package, quantity)
        waste = " including the JW line" if units != line.units else ""
        if units > high:
            problem = (
                f"more than the {_n_units(high)} that {_units(quantity)} package(s) of NDC {line.ndc} hold"
            )
        else:
            problem = (
                f"less than half of the at least {_n_units(low)} in {_units(quantity)} package(s) "
                f"of NDC {line.ndc}"
            )
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: {_n_units(units)} billed{waste} is {problem}; check the units "
            "(billing units, not mg or mL) and the NDC quantity (CTP04).",
        )


@rule(
    id="DRUG-UNITS-LIMIT",
    title="Drug units above the unit limit (MUE proxy)",
    severity=Severity.ERROR,
    citation=_CITE_LIMIT,
)
def drug_units_limit(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    limits = load_unit_limits()
    for (code, _date), lines in claim_facts(claim, context).same_drug.items():
        if code not in limits:
            continue
        limit, smallest = _limit_and_smallest_vial(code)
        total = sum((line.units for line in lines), Decimal(0))
        over = [line for line in lines if line.units > limit]
        for line in over:
            tenth = line.units / _TEN
            fix = None
            if (
                tenth == tenth.to_integral_value()
                and max(Decimal(1), smallest * _HALF) <= tenth <= limit
                and total - line.units + tenth <= limit
            ):
                fix = Fix(
                    FixAction.SET_UNITS, line.line_number, tenth, f"bill {_n_units(tenth)} (units / 10)"
                )
            hint = (
                f"; {_n_units(tenth)} would fit, which suggests a x10 unit-conversion error"
                if fix is not None
                else "; check the dose-to-unit conversion, or split the line with documentation if the dose is right"
            )
            yield rule_.finding(
                [line.line_number],
                f"{_where(line)}: {_n_units(line.units)} exceeds the limit of {limits[code]} units per "
                f"day for {code}; the payer denies the whole line (CO-151/N362){hint}.",
                fix,
            )
        if not over and total > limit:
            numbers = ", ".join(str(line.line_number) for line in lines)
            yield rule_.finding(
                [line.line_number for line in lines],
                f"Lines {numbers} ({code}): {_n_units(total)} on one date exceeds the limit of "
                f"{limits[code]} units per day for {code}; check the units of each line.",
            )


@rule(
    id="DRUG-UNITS-DOSE",
    title="Drug units imply a dose far from the expected dose",
    severity=Severity.WARNING,
    citation=_CITE_DOSE,
)
def drug_units_dose(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    facts = _dose_facts(context)
    if not facts:
        return
    limits = load_unit_limits()
    for line, drug in claim_facts(claim, context).drug_lines:
        expected = facts.get(line.line_number)
        if expected is None or _is_waste(line):
            continue
        ratio = line.units / expected
        if _HALF <= ratio <= _TWO:
            continue
        candidate = line.units / _TEN if ratio > _TWO else line.units * _TEN
        limit = limits.get(line.procedure_code)
        fix = None
        if (
            candidate == candidate.to_integral_value()
            and candidate >= 1
            and _HALF <= candidate / expected <= _TWO
            and (limit is None or candidate <= limit)
        ):
            fix = Fix(FixAction.SET_UNITS, line.line_number, candidate, f"bill {_n_units(candidate)}")
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: {_n_units(line.units)} ({drug.billing_unit.descriptor} each) is "
            f"{'over twice' if ratio > _TWO else 'under half'} the expected {_n_units(expected)} for "
            f"this dose; check the dose-to-unit conversion.",
            fix,
        )


# --- NDC ----------------------------------------------------------------------------------------------------


@rule(
    id="NDC-MISSING",
    title="NDC missing on a drug line where the payer requires it",
    severity=Severity.ERROR,
    citation=_CITE_NDC,
)
def ndc_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    if not _requires_ndc(claim, context):
        return
    for line, _drug in claim_facts(claim, context).drug_lines:
        if line.ndc is not None:
            continue
        packages = ndcs_for_hcpcs(line.procedure_code)
        suggestion = (
            f"; NDCs of {line.procedure_code} in the CMS crosswalk: {_ndc_list(line.procedure_code)}"
            if packages
            else ""
        )
        fix = None
        # SET_NDC only sets LIN03; the line must already carry its quantity and unit (CTP04/CTP05).
        if len(packages) == 1 and line.ndc_quantity is not None and line.ndc_unit is not None:
            fix = Fix(FixAction.SET_NDC, line.line_number, packages[0].ndc, f"report NDC {packages[0].ndc}")
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: the payer requires the NDC, its quantity and unit (loop 2410 LIN/CTP) on "
            f"drug lines{suggestion}.",
            fix,
        )


@rule(
    id="NDC-MISMATCH",
    title="NDC not mapped to the line's HCPCS code (error when the payer requires NDCs)",
    severity=Severity.ERROR,
    citation=_CITE_NDC,
)
def ndc_mismatch(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    required = _requires_ndc(claim, context)
    crosswalk = load_ndc_crosswalk()
    facts = claim_facts(claim, context)
    for line, _drug in facts.drug_lines:
        if line.ndc is None:
            continue
        mapped = _ndc_code(line.ndc)
        if mapped == line.procedure_code:
            continue
        replacement = _replacement_ndc(facts, line)
        fix = (
            Fix(FixAction.SET_NDC, line.line_number, replacement.ndc, f"report NDC {replacement.ndc}")
            if replacement is not None
            else None
        )
        hint = (
            f"; NDC {replacement.ndc} of {line.procedure_code} fits the billed units"
            if replacement is not None
            else (
                f"; NDCs of {line.procedure_code}: {_ndc_list(line.procedure_code)}"
                if ndcs_for_hcpcs(line.procedure_code)
                else ""
            )
        )
        if mapped is None:
            yield _finding(
                rule_,
                Severity.WARNING,
                (line.line_number,),
                f"{_where(line)}: NDC {line.ndc} is not in the CMS NDC-HCPCS crosswalk for "
                f"{line.procedure_code}; check the NDC on the package{hint}.",
                fix,
            )
            continue
        other = crosswalk[line.ndc]
        yield _finding(
            rule_,
            Severity.ERROR if required else Severity.WARNING,
            (line.line_number,),
            f"{_where(line)}: NDC {line.ndc} is a {mapped} package ({other.drug_name}), not "
            f"{line.procedure_code}; an NDC billed under another HCPCS code is denied (CO-16/M119){hint}.",
            fix,
        )


# --- JW / JZ ------------------------------------------------------------------------------------------------


@rule(
    id="JWJZ-MISSING",
    title="JW or JZ missing on a single-dose-container drug (warning before the payer enforces it)",
    severity=Severity.ERROR,
    citation=_CITE_JWJZ,
    effective_from=JZ_REQUIRED_FROM,
)
def jwjz_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    enforced = _jw_jz_enforced_from(claim, context)
    facts = claim_facts(claim, context)
    for line, drug in facts.drug_lines:
        if (
            not drug.needs_waste_modifier
            or _container(drug, line) is ContainerType.MULTIPLE_DOSE
            or drug.drug_class is DrugClass.HYDRATION
            or line.service_date < JZ_REQUIRED_FROM
            or not _JW_JZ.isdisjoint(line.modifiers)
            or any(_is_waste(other) for other in facts.same_drug_as(line))
        ):
            continue
        packaged = claim.form is ClaimForm.INSTITUTIONAL and drug.opps_status == "N"
        in_force = enforced is not None and line.service_date >= enforced
        severity = Severity.ERROR if in_force and not packaged else Severity.WARNING
        if packaged:
            when = (
                "; CMS exempts drugs packaged under OPPS (status indicator N), but this payer still expects it"
                if in_force
                else "; CMS exempts drugs packaged under OPPS (status indicator N), check the payer's policy"
            )
        elif in_force:
            assert enforced is not None
            when = f"; the payer returns or denies such lines from {enforced.isoformat()}"
        elif enforced is not None:
            when = f"; JZ is required by CMS from 2023-07-01 and this payer enforces it from {enforced.isoformat()}"
        else:
            when = "; JZ is required by CMS from 2023-07-01 (this payer is not known to enforce it)"
        if drug.container_note:
            when += f" (note: {drug.container_note})"
        fix = None
        if len(line.modifiers) < _MAX_MODIFIERS:
            fix = Fix(FixAction.ADD_MODIFIER, line.line_number, "JZ", "add JZ (no drug discarded)")
        yield _finding(
            rule_,
            severity,
            (line.line_number,),
            f"{_where(line)}: {drug.name.split(' (')[0]} comes in a single-dose container; add JZ when "
            f"none was discarded, or bill the discarded units on a separate {line.procedure_code} line "
            f"with JW{when}.",
            fix,
        )


@rule(
    id="JWJZ-BOTH",
    title="JW and JZ both reported for the same drug",
    severity=Severity.ERROR,
    citation=_CITE_JWJZ,
)
def jwjz_both(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    facts = claim_facts(claim, context)
    if not facts.waste_lines:
        return  # both findings are about a JW line
    for line in claim.lines:
        if not _JW_JZ.issubset(line.modifiers):
            continue
        administered = [o for o in facts.same_drug_as(line) if not _is_waste(o)]
        drop = "JZ" if administered else "JW"
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: JW (drug discarded) and JZ (none discarded) on the same line; keep "
            f"{'JW on this waste line' if drop == 'JZ' else 'JZ if nothing was discarded'}.",
            Fix(FixAction.REMOVE_MODIFIER, line.line_number, drop, f"remove {drop}"),
        )
    for line in claim.lines:
        if "JZ" not in line.modifiers or "JW" in line.modifiers:
            continue
        waste = [o for o in facts.same_drug_as(line) if "JW" in o.modifiers and "JZ" not in o.modifiers]
        if not waste:
            continue
        numbers = ", ".join(str(o.line_number) for o in waste)
        yield rule_.finding(
            [line.line_number, *(o.line_number for o in waste)],
            f"{_where(line)}: JZ says no {line.procedure_code} was discarded, but line(s) {numbers} bill "
            f"discarded {line.procedure_code} with JW; with waste the administered line carries neither "
            "modifier, without waste remove the JW line.",
            Fix(FixAction.REMOVE_MODIFIER, line.line_number, "JZ", "remove JZ from the administered line"),
        )


@rule(
    id="JW-WITHOUT-ADMINISTERED",
    title="JW waste line without an administered line of the same drug",
    severity=Severity.ERROR,
    citation=_CITE_JWJZ,
)
def jw_without_administered(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    facts = claim_facts(claim, context)
    for line in facts.waste_lines:
        if any(not _is_waste(o) for o in facts.same_drug_as(line)):
            continue
        fix = (
            Fix(FixAction.REMOVE_LINE, line.line_number, None, "remove the JW line")
            if len(claim.lines) > 1
            else None
        )
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: discarded drug (JW) is billed without a line for the administered "
            f"{line.procedure_code} on {line.service_date.isoformat()}; bill the administered amount on its "
            "own line, or remove the JW line.",
            fix,
        )


@rule(
    id="JWJZ-MULTIDOSE",
    title="JW or JZ on a multiple-dose-container drug",
    severity=Severity.WARNING,
    citation=_CITE_JWJZ,
)
def jwjz_multiple_dose(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    facts = claim_facts(claim, context)
    for line, drug in facts.drug_lines:
        present = _JW_JZ & set(line.modifiers)
        if _container(drug, line) is not ContainerType.MULTIPLE_DOSE or len(present) != 1:
            continue  # a line with both is JWJZ-BOTH's finding
        modifier = next(iter(present))
        name = drug.name.split(" (")[0]
        what = name if drug.container is ContainerType.MULTIPLE_DOSE else f"NDC {line.ndc} ({name})"
        administered = [o for o in facts.same_drug_as(line) if not _is_waste(o)]
        if modifier == "JW" and administered:
            fix = Fix(FixAction.REMOVE_LINE, line.line_number, None, "remove the JW line")
            advice = "drug left in a multiple-dose vial is not billable waste; remove the JW line"
        else:
            fix = Fix(FixAction.REMOVE_MODIFIER, line.line_number, modifier, f"remove {modifier}")
            advice = f"remove {modifier}"
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: {what} is a multiple-dose container, which takes neither JW nor JZ; {advice}.",
            fix,
        )


# --- drug codes ---------------------------------------------------------------------------------------------


@rule(
    id="DRUG-CODE-UNKNOWN",
    title="Drug code not in the drug table (possibly deleted or not billable)",
    severity=Severity.WARNING,
    citation=_CITE_CODES,
)
def drug_code_unknown(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    drugs = load_drugs()
    admin = load_admin_codes()
    for line in claim.lines:
        code = line.procedure_code
        if (
            code in drugs
            or code in admin
            or code in NOC_CODES
            or code in _NOT_DRUGS
            or not _DRUG_LOOKING.match(code)
        ):
            continue
        reason = DELETED_CODES.get(code)
        yield rule_.finding(
            [line.line_number],
            f"{_where(line)}: "
            + (
                reason + "."
                if reason
                else f"{code} is not in the oncology drug table; check that it is a current, separately "
                "billable drug code and that the units follow its descriptor."
            ),
        )


@rule(
    id="DRUG-NOC-DESCRIPTION",
    title="Not-otherwise-classified drug code without a description",
    severity=Severity.ERROR,
    citation=_CITE_NOC,
)
def drug_noc_description(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    for line in claim.lines:
        if line.procedure_code in NOC_CODES and not (line.description or "").strip():
            yield rule_.finding(
                [line.line_number],
                f"{_where(line)}: a not-otherwise-classified code needs the drug name, dose and NDC in the "
                "line description (SV101-7 or NTE); Medicare returns the line without it (N350).",
            )


#: Every rule of this family, in catalogue order.
RULES: tuple[Rule, ...] = (
    drug_units_whole,
    drug_units_ndc_quantity,
    drug_units_limit,
    drug_units_dose,
    ndc_missing,
    ndc_mismatch,
    jwjz_missing,
    jwjz_both,
    jw_without_administered,
    jwjz_multiple_dose,
    drug_code_unknown,
    drug_noc_description,
)
