"""Format checks for the codes a claim carries: HCPCS/CPT, modifiers, ICD-10-CM, NPI, NDC.

These are pure functions used by the domain model's validators and by the audit rules.
"""

from __future__ import annotations

import re
from functools import cache

import simple_icd_10_cm as icd

#: HCPCS Level II (a letter and four digits) or CPT (five digits, or four digits and F/T/U category codes).
HCPCS_PATTERN = re.compile(r"^(?:[A-V][0-9]{4}|[0-9]{4}[0-9FTU])$")
#: Modifiers are two characters, letters or digits (JW, JZ, 25, 59, XE, Q0 ...).
MODIFIER_PATTERN = re.compile(r"^[A-Z0-9]{2}$")
#: 11-digit NDC in 5-4-2 form without hyphens (837 loop 2410 LIN03).
NDC_PATTERN = re.compile(r"^[0-9]{11}$")
#: ClinicalTrials.gov number as reported in REF*P4: eight digits, without the "NCT" prefix.
NCT_PATTERN = re.compile(r"^[0-9]{8}$")


def is_hcpcs(code: str) -> bool:
    """True for a well-formed HCPCS Level II or CPT code.

    >>> is_hcpcs("J9271"), is_hcpcs("96413"), is_hcpcs("J92")
    (True, True, False)
    """
    return bool(HCPCS_PATTERN.match(code))


def is_modifier(code: str) -> bool:
    """True for a well-formed two-character modifier."""
    return bool(MODIFIER_PATTERN.match(code))


def normalize_icd10(code: str) -> str:
    """Upper-case an ICD-10-CM code and drop its dot: ``c34.90`` -> ``C3490`` (the X12 HI form)."""
    return code.strip().upper().replace(".", "")


def format_icd10(code: str) -> str:
    """Dotted form of an ICD-10-CM code: ``C3490`` -> ``C34.90``."""
    code = normalize_icd10(code)
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


@cache
def icd10_status(code: str) -> str:
    """``billable``, ``header`` (valid but not billable: a category with children) or ``invalid``.

    Uses the ``simple-icd-10-cm`` package's code list.
    """
    dotted = format_icd10(code)
    if not icd.is_valid_item(dotted):
        return "invalid"
    return "billable" if icd.is_leaf(dotted) else "header"


def is_valid_icd10(code: str) -> bool:
    """True when the code exists in ICD-10-CM (billable or not)."""
    return icd10_status(code) != "invalid"


def npi_is_valid(npi: str) -> bool:
    """Check an NPI's Luhn check digit (with the 80840 card-issuer prefix, as CMS specifies).

    >>> npi_is_valid("1234567893"), npi_is_valid("1234567890")
    (True, False)
    """
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 24  # the constant contribution of the "80840" prefix
    for i, ch in enumerate(reversed(npi[:9])):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


def npi_check_digit(first_nine: str) -> str:
    """The check digit that makes ``first_nine + digit`` a valid NPI."""
    for d in "0123456789":
        if npi_is_valid(first_nine + d):
            return d
    raise ValueError(f"not nine digits: {first_nine!r}")


def normalize_ndc(ndc: str) -> str:
    """Digits only: ``00006-3026-02`` -> ``00006302602``."""
    return re.sub(r"[^0-9]", "", ndc)
