"""Drug administration and modifier-25 rules (oncology-billing.md 2.1-2.3 and 3).

Conventions:

* one *initial* IV code (96360/96365/96374/96409/96413) per encounter, chosen by hierarchy (chemo infusion >
  chemo push > therapeutic infusion > therapeutic push > hydration); a second one needs 59, XE, XS or XU;
* add-on and concurrent codes need one of their primaries on the same claim and date (NCCI add-on code
  edits), and that primary must itself be grounded (96415 with 96417 but no 96413/96409 is still orphaned);
* chemotherapy and complex biologics (``Drug.complex_administration``) are given with the 964xx codes;
* Medicare does not pay 99211 with drug administration; a same-day E/M (99212-99215, G0463) with drug
  administration needs modifier 25.

An "encounter" is one service date of the claim. Messages name the line and code only, never patient data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from functools import cache, lru_cache

from claims.audit.engine import AuditContext, Finding, Fix, FixAction, Rule, Severity, rule
from claims.audit.facts import claim_facts
from claims.enums import AdminRole, ClaimForm, DrugClass, PlanType
from claims.model import Claim, ClaimLine
from claims.reference import AdminCategory, load_admin_codes, load_drugs

__all__ = [
    "ADDON_TO_INITIAL",
    "DISTINCT_MODIFIERS",
    "EM_CODES",
    "INITIAL_TO_ADDON",
    "MODIFIER_25_EM_CODES",
    "OTHER_CHEMO_ADMIN_CODES",
    "RULES",
    "addl_hours",
    "addon_without_primary",
    "chemo_admin_code",
    "hydration_concurrent",
    "medicare_99211",
    "modifier_25_missing",
    "second_initial",
]

#: Modifiers that let a second initial code through (separate IV site or separate encounter).
DISTINCT_MODIFIERS = frozenset({"59", "XE", "XS", "XU"})
#: An initial code billed again in the same encounter is really its sequential add-on.
INITIAL_TO_ADDON: Mapping[str, str] = {
    "96413": "96417",
    "96409": "96411",
    "96365": "96367",
    "96374": "96375",
    "96360": "96361",
}
#: The sequential add-on whose primary is missing may be the encounter's real initial service.
ADDON_TO_INITIAL: Mapping[str, str] = {addon: initial for initial, addon in INITIAL_TO_ADDON.items()}
#: Non-chemo administration codes that a complex drug was billed with -> the chemo code to bill instead.
_TO_CHEMO: Mapping[str, str] = {"96365": "96413", "96374": "96409", "96372": "96401"}
#: Chemo administration codes by other routes (oncology-billing.md 2.1), not in our administration table.
OTHER_CHEMO_ADMIN_CODES = frozenset(
    {"96405", "96406", "96420", "96422", "96423", "96425", "96440", "96446", "96450", "96542", "96549"}
)
#: Outpatient E/M codes (office/outpatient visits and the OPPS clinic visit G0463).
EM_CODES = frozenset({"99211", "99212", "99213", "99214", "99215", "G0463"})
#: E/M codes that need modifier 25 when drug administration is billed the same day.
MODIFIER_25_EM_CODES = frozenset({"99212", "99213", "99214", "99215", "G0463"})
#: Additional-hour codes -> the codes of their own infusion family (first hour or sequential drug).
_HOUR_FAMILY: Mapping[str, frozenset[str]] = {
    "96415": frozenset({"96413", "96417"}),
    "96366": frozenset({"96365", "96367"}),
}
#: More additional hours than this per code and date are implausible (96415 MUE about 8, oncology-billing
#: 2.3 [UNVERIFIED]).
MAX_ADDITIONAL_HOURS = Decimal(8)
_CONCURRENT_HYDRATION = frozenset({"96360", "96361"})
_FACILITY_POS = frozenset({"19", "21", "22", "23"})
_MAX_MODIFIERS = 4

_CITE_CHEMO = (
    "CMS Claims Processing Manual ch.12 §30.5 (chemotherapy and complex drug administration, 964xx); "
    "oncology-billing.md 2.2 item 8"
)
_CITE_INITIAL = (
    "CMS Claims Processing Manual ch.12 §30.5; CMS approved Recovery Audit topic (one initial "
    "administration code per encounter, 59/XE/XS/XU for a separate site or encounter); CARC 236; "
    "oncology-billing.md 2.2 items 1-3"
)
_CITE_ADDON = (
    "NCCI add-on code edits (CMS AOC file) [primary lists UNVERIFIED]; CARC 107 or B15 with RARC N122; "
    "oncology-billing.md 2.2 item 12"
)
_CITE_HOURS = (
    "CPT additional-hour time rules (more than 30 minutes past the last full hour); 96415 about 8 units a "
    "day [UNVERIFIED MUE]; oncology-billing.md 2.2 item 6 and 2.3"
)
_CITE_HYDRATION = (
    "Hydration concurrent with another infusion is not separately reportable; oncology-billing.md 2.2 "
    "item 7 (CARC 97)"
)
_CITE_99211 = "Medicare does not pay 99211 with drug administration codes; oncology-billing.md 2.2 item 10"
_CITE_25 = (
    "NCCI Policy Manual ch.11 (a separately identifiable E/M on the day of a procedure needs modifier 25); "
    "CARC 4 or 97/M15; oncology-billing.md 2.2 item 10 and 3"
)


# --- helpers ------------------------------------------------------------------------------------------------


def _where(line: ClaimLine) -> str:
    return f"Line {line.line_number} ({line.procedure_code})"


def _codes(lines: Iterable[ClaimLine]) -> str:
    return ", ".join(f"line {line.line_number} ({line.procedure_code})" for line in lines)


def _admin_lines(lines: Iterable[ClaimLine]) -> list[ClaimLine]:
    admin = load_admin_codes()
    return [line for line in lines if line.procedure_code in admin]


@lru_cache(maxsize=4096)  # a pure function of the fixed administration table
def _is_initial(code: str) -> bool:
    item = load_admin_codes().get(code)
    return item is not None and item.role is AdminRole.INITIAL


@lru_cache(maxsize=4096)  # a pure function of the fixed administration table
def _rank(code: str) -> int:
    item = load_admin_codes().get(code)
    return item.hierarchy_rank if item is not None and item.hierarchy_rank is not None else 99


def grounded_codes(codes: Iterable[str]) -> set[str]:
    """The codes of one encounter whose primary chain ends in a code that needs none.

    Codes that need no primary (initial, standalone, codes outside the administration table) are grounded;
    an add-on or concurrent code is grounded when one of its allowed primaries is.
    """
    return set(_grounded(frozenset(codes)))


@lru_cache(maxsize=4096)
def _grounded(present: frozenset[str]) -> frozenset[str]:
    """:func:`grounded_codes` of a set of codes (remembered: the administration table is fixed and the same
    encounters recur)."""
    admin = load_admin_codes()
    grounded = {c for c in present if c not in admin or not admin[c].needs_primary}
    changed = True
    while changed:
        changed = False
        for code in present - grounded:
            if grounded & set(admin[code].allowed_primaries):
                grounded.add(code)
                changed = True
    return frozenset(grounded)


@cache
def _additional_hour_codes() -> frozenset[str]:
    """The additional-hour codes of the administration table (remembered: the table is fixed)."""
    return frozenset(code for code, item in load_admin_codes().items() if item.is_additional_hour)


def _can_add_modifier(line: ClaimLine) -> bool:
    return len(line.modifiers) < _MAX_MODIFIERS


# --- chemotherapy administration ------------------------------------------------------------------------------


@rule(
    id="ADMIN-CHEMO-CODE",
    title="Chemotherapy or complex biologic without a chemotherapy administration code",
    severity=Severity.ERROR,
    citation=_CITE_CHEMO,
)
def chemo_admin_code(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    facts = claim_facts(claim, context)
    if not any(drug.complex_administration for _line, drug in facts.drug_lines):
        return  # no chemotherapy or complex biologic on the claim
    drugs = load_drugs()
    admin = load_admin_codes()
    facility_professional = claim.form is ClaimForm.PROFESSIONAL and claim.place_of_service in _FACILITY_POS
    for date, lines in facts.by_date.items():
        complex_lines = [
            line
            for line, drug in facts.drug_lines
            if line.service_date == date and "JW" not in line.modifiers and drug.complex_administration
        ]
        if not complex_lines:
            continue
        admin_lines = _admin_lines(lines)
        if any(
            admin[line.procedure_code].category in (AdminCategory.CHEMO, AdminCategory.PUMP)
            for line in admin_lines
        ) or any(line.procedure_code in OTHER_CHEMO_ADMIN_CODES for line in lines):
            continue
        drug_text = _codes(complex_lines)
        if not admin_lines:
            if facility_professional:
                continue  # in a facility the hospital bills the administration (oncology-billing.md 2.2 item 9)
            yield rule_.finding(
                [line.line_number for line in complex_lines],
                f"{drug_text}: chemotherapy/complex biologic billed with no administration code for that date; "
                "add the 964xx administration code (96413/96409 IV, 96401/96402 SC or IM).",
            )
            continue
        fix = None
        if len(admin_lines) == 1 and admin_lines[0].procedure_code in _TO_CHEMO:
            only = admin_lines[0]
            target = _TO_CHEMO[only.procedure_code]
            hormonal = all(
                drugs[line.procedure_code].drug_class is DrugClass.HORMONAL for line in complex_lines
            )
            if target == "96401" and hormonal:
                target = "96402"
            fix = Fix(
                FixAction.SET_PROCEDURE_CODE,
                only.line_number,
                target,
                f"bill line {only.line_number} as {target} instead of {only.procedure_code}",
            )
        yield rule_.finding(
            [line.line_number for line in complex_lines] + [line.line_number for line in admin_lines],
            f"{drug_text}: chemotherapy/complex biologic billed with only non-chemotherapy administration "
            "codes that day; its administration is reported with the 964xx codes.",
            fix,
        )


# --- one initial service per encounter ------------------------------------------------------------------------


@rule(
    id="ADMIN-SECOND-INITIAL",
    title="More than one initial administration code in an encounter without 59/XE/XS/XU",
    severity=Severity.ERROR,
    citation=_CITE_INITIAL,
)
def second_initial(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    admin = load_admin_codes()
    for _date, lines in claim_facts(claim, context).by_date.items():
        initials = [line for line in lines if _is_initial(line.procedure_code)]
        if not initials:
            continue
        primary = min(initials, key=lambda line: _rank(line.procedure_code))  # first among equal ranks
        for line in initials:
            distinct = bool(DISTINCT_MODIFIERS & set(line.modifiers))
            if line is primary:
                if line.units > 1 and not distinct:
                    yield rule_.finding(
                        [line.line_number],
                        f"{_where(line)}: {line.units.normalize():f} units of an initial administration code; "
                        "only one initial service is billed per encounter (further drugs use the sequential "
                        "add-on codes, a separate site or encounter needs 59/XE/XS/XU).",
                    )
                continue
            if distinct:
                continue
            addon = INITIAL_TO_ADDON.get(line.procedure_code)
            fix = None
            if addon is not None and primary.procedure_code in admin[addon].allowed_primaries:
                fix = Fix(
                    FixAction.SET_PROCEDURE_CODE,
                    line.line_number,
                    addon,
                    f"bill line {line.line_number} as the sequential add-on {addon}",
                )
            instead = f"bill it as {addon}" if addon else "bill it with its sequential add-on code"
            yield rule_.finding(
                [line.line_number],
                f"{_where(line)}: second initial administration code in the encounter (the initial service is "
                f"line {primary.line_number}, {primary.procedure_code}); {instead}, or add XE/XS/59 if it was "
                "a separate encounter or IV site.",
                fix,
            )


# --- add-on codes ---------------------------------------------------------------------------------------------


def _addon_fix(lines: list[ClaimLine], line: ClaimLine) -> Fix | None:
    """Turn the encounter's one sequential add-on of the highest-ranked family into its initial code, when the
    encounter has no initial code and that grounds ``line``."""
    if any(_is_initial(other.procedure_code) for other in lines):
        return None
    convertible = [other for other in lines if other.procedure_code in ADDON_TO_INITIAL]
    if not convertible:
        return None
    best = min(_rank(ADDON_TO_INITIAL[other.procedure_code]) for other in convertible)
    family = [other for other in convertible if _rank(ADDON_TO_INITIAL[other.procedure_code]) == best]
    if len(family) != 1 or family[0].units != 1:
        return None
    target = family[0]
    initial = ADDON_TO_INITIAL[target.procedure_code]
    drugs = load_drugs()
    complex_drug = any(
        (drug := drugs.get(other.procedure_code)) is not None and drug.complex_administration
        for other in lines
    )
    if complex_drug and load_admin_codes()[initial].category is not AdminCategory.CHEMO:
        return None  # the missing initial was the chemotherapy service, not this one
    codes = [initial if other is target else other.procedure_code for other in lines]
    if line is not target and line.procedure_code not in grounded_codes(codes):
        return None
    return Fix(
        FixAction.SET_PROCEDURE_CODE,
        target.line_number,
        initial,
        f"bill line {target.line_number} as the initial service {initial}",
    )


@rule(
    id="ADMIN-ADDON-NO-PRIMARY",
    title="Add-on administration code without an allowed primary code",
    severity=Severity.ERROR,
    citation=_CITE_ADDON,
)
def addon_without_primary(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    admin = load_admin_codes()
    for _date, lines in claim_facts(claim, context).by_date.items():
        codes = [line.procedure_code for line in lines]
        billed = frozenset(codes)
        grounded = _grounded(billed)
        if grounded == billed:
            continue  # every add-on code of the encounter has its primary
        for line in lines:
            item = admin.get(line.procedure_code)
            if item is None or not item.needs_primary or line.procedure_code in grounded:
                continue
            present = [c for c in item.allowed_primaries if c in codes]
            allowed = "/".join(item.allowed_primaries)
            why = (
                f"its primary {'/'.join(present)} is itself billed without a primary"
                if present
                else f"none of its primary codes ({allowed}) is on the claim for that date"
            )
            yield rule_.finding(
                [line.line_number],
                f"{_where(line)}: add-on administration code without its primary: {why}; bill the "
                "encounter's initial service.",
                _addon_fix(lines, line),
            )


@rule(
    id="ADMIN-ADDL-HOURS",
    title="Additional-hour administration units inconsistent with the codes billed",
    severity=Severity.WARNING,
    citation=_CITE_HOURS,
)
def addl_hours(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    admin = load_admin_codes()
    for _date, lines in claim_facts(claim, context).by_date.items():
        codes = [line.procedure_code for line in lines]
        if _additional_hour_codes().isdisjoint(codes):
            continue  # no additional hour that day
        grounded = _grounded(frozenset(codes))
        hours: dict[str, list[ClaimLine]] = defaultdict(list)
        for line in lines:
            item = admin.get(line.procedure_code)
            if item is not None and item.is_additional_hour:
                hours[line.procedure_code].append(line)
        for code, hour_lines in hours.items():
            family = _HOUR_FAMILY.get(code)
            # Without any primary the add-on rule already reports the line as an error.
            if family is not None and not family & set(codes) and code in grounded:
                yield rule_.finding(
                    [line.line_number for line in hour_lines],
                    f"{_codes(hour_lines)}: additional hour billed without a first hour or sequential infusion "
                    f"of the same kind ({'/'.join(sorted(family))}) that day.",
                )
            total = sum((line.units for line in hour_lines), Decimal(0))
            if total > MAX_ADDITIONAL_HOURS:
                yield rule_.finding(
                    [line.line_number for line in hour_lines],
                    f"{_codes(hour_lines)}: {total.normalize():f} additional hours of {code} in one day is more "
                    f"than plausible (about {MAX_ADDITIONAL_HOURS} at most); check the infusion times and units "
                    "(a prolonged pump infusion is 96416/G0498).",
                )


@rule(
    id="ADMIN-HYDRATION-CONCURRENT",
    title="Hydration billed with a concurrent infusion (not separately reportable)",
    severity=Severity.WARNING,
    citation=_CITE_HYDRATION,
)
def hydration_concurrent(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    for _date, lines in claim_facts(claim, context).by_date.items():
        hydration = [line for line in lines if line.procedure_code in _CONCURRENT_HYDRATION]
        concurrent = [line for line in lines if line.procedure_code == "96368"]
        if hydration and concurrent:
            yield rule_.finding(
                [line.line_number for line in hydration],
                f"{_codes(hydration)}: hydration billed with a concurrent infusion ({_codes(concurrent)}); "
                "hydration running at the same time as another infusion is not separately reportable, bill it "
                "only if it was given in sequence and documented so.",
            )


@rule(
    id="ADMIN-99211-MEDICARE",
    title="99211 billed with drug administration (Medicare does not pay it)",
    severity=Severity.ERROR,
    citation=_CITE_99211,
    payer_types=(PlanType.MEDICARE,),
)
def medicare_99211(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    for _date, lines in claim_facts(claim, context).by_date.items():
        admin_lines = _admin_lines(lines)
        if not admin_lines:
            continue
        for line in lines:
            if line.procedure_code == "99211":
                yield rule_.finding(
                    [line.line_number],
                    f"{_where(line)}: Medicare does not pay a nurse visit (99211) on a day with drug "
                    "administration; remove the 99211 line.",
                    Fix(
                        FixAction.REMOVE_LINE,
                        line.line_number,
                        None,
                        f"remove line {line.line_number} (99211)",
                    ),
                )


# --- modifier 25 ----------------------------------------------------------------------------------------------


@rule(
    id="MOD25-MISSING",
    title="Same-day E/M with drug administration without modifier 25",
    severity=Severity.ERROR,
    citation=_CITE_25,
)
def modifier_25_missing(rule_: Rule, claim: Claim, context: AuditContext) -> Iterator[Finding]:
    for _date, lines in claim_facts(claim, context).by_date.items():
        admin_lines = _admin_lines(lines)
        if not admin_lines:
            continue
        for line in lines:
            if line.procedure_code not in MODIFIER_25_EM_CODES or "25" in line.modifiers:
                continue
            fix = (
                Fix(
                    FixAction.ADD_MODIFIER,
                    line.line_number,
                    "25",
                    f"add modifier 25 to line {line.line_number}",
                )
                if _can_add_modifier(line)
                else None
            )
            yield rule_.finding(
                [line.line_number],
                f"{_where(line)}: E/M billed on a day with drug administration without modifier 25; add 25 "
                "if the visit was significant and separately identifiable (documented beyond the pre-treatment "
                "check).",
                fix,
            )


RULES: tuple[Rule, ...] = (
    chemo_admin_code,
    second_initial,
    addon_without_primary,
    addl_hours,
    hydration_concurrent,
    medicare_99211,
    modifier_25_missing,
)
