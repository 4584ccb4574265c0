"""Small closed code sets, defined once.

Larger code lists (drugs, CARCs, modifiers, ...) are data files under ``claims/reference/data``.
"""

from __future__ import annotations

from enum import StrEnum


class PlanType(StrEnum):
    """How a payer is regulated; drives prior-auth, JW/JZ and clinical-trial rules."""

    MEDICARE = "medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICAID = "medicaid"
    COMMERCIAL = "commercial"


class ClaimForm(StrEnum):
    """837P (CMS-1500, physician office) or 837I (UB-04, hospital outpatient)."""

    PROFESSIONAL = "professional"
    INSTITUTIONAL = "institutional"


class Sex(StrEnum):
    """DMG03 gender code."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class AdjustmentGroup(StrEnum):
    """835 CAS01 claim adjustment group code (CR was retired in 5010)."""

    CONTRACTUAL = "CO"
    OTHER = "OA"
    PAYER_INITIATED = "PI"
    PATIENT = "PR"


class DenialCategory(StrEnum):
    """Why a line was denied, derived from its CARC (and RARC) — product.md section 4."""

    AUTHORIZATION = "authorization"
    MEDICAL_NECESSITY = "medical_necessity"
    CODING_MODIFIER = "coding_modifier"
    UNITS_MUE = "units_mue"
    BUNDLING = "bundling"
    NONCOVERED_TRIAL = "noncovered_trial"
    ELIGIBILITY = "eligibility"
    DUPLICATE = "duplicate"
    TIMELY_FILING = "timely_filing"
    MISSING_INFORMATION = "missing_information"
    OTHER = "other"


class AuthorizationStatus(StrEnum):
    """Status of a prior authorization as the payer reported it."""

    APPROVED = "approved"
    PENDING = "pending"
    DENIED = "denied"
    CANCELLED = "cancelled"


class NdcUnit(StrEnum):
    """CTP05-1 unit of measure of the NDC quantity (837 loop 2410)."""

    INTERNATIONAL_UNIT = "F2"
    GRAM = "GR"
    MILLIGRAM = "ME"
    MILLILITER = "ML"
    UNIT = "UN"


class DrugClass(StrEnum):
    """Therapeutic class of a HCPCS drug code, as used by payer policies and features."""

    CHEMOTHERAPY = "chemotherapy"
    IMMUNOTHERAPY = "immunotherapy"
    TARGETED = "targeted"
    HORMONAL = "hormonal"
    SUPPORTIVE = "supportive"
    ANTIEMETIC = "antiemetic"
    GROWTH_FACTOR = "growth_factor"
    BONE = "bone"
    ANEMIA = "anemia"
    HYDRATION = "hydration"


class ContainerType(StrEnum):
    """Single-dose containers need JW (waste) or JZ (no waste); multiple-dose containers take neither."""

    SINGLE_DOSE = "single_dose"
    MULTIPLE_DOSE = "multiple_dose"


class AdminRole(StrEnum):
    """Role of an administration code in the infusion hierarchy (oncology-billing.md 2.2)."""

    INITIAL = "initial"
    ADD_ON = "add_on"
    CONCURRENT = "concurrent"
    STANDALONE = "standalone"
