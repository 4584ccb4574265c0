"""The claims domain kernel: claims, lines, authorizations, remittances, labels, reference tables, X12.

No ML, no web, no MLflow here. Importing the package has no side effects.
"""

from claims.enums import (
    AdjustmentGroup,
    AdminRole,
    AuthorizationStatus,
    ClaimForm,
    ContainerType,
    DenialCategory,
    DrugClass,
    NdcUnit,
    PlanType,
    Sex,
)
from claims.errors import ClaimsError, DomainValueError, UnsupportedVersionError, X12Error
from claims.model import (
    Address,
    Adjustment,
    Authorization,
    Claim,
    ClaimLine,
    ClaimPayment,
    Diagnosis,
    LineOutcome,
    Patient,
    Payer,
    Provider,
    Remittance,
)

__all__ = [
    "Address",
    "Adjustment",
    "AdjustmentGroup",
    "AdminRole",
    "Authorization",
    "AuthorizationStatus",
    "Claim",
    "ClaimForm",
    "ClaimLine",
    "ClaimPayment",
    "ClaimsError",
    "ContainerType",
    "DenialCategory",
    "Diagnosis",
    "DomainValueError",
    "DrugClass",
    "LineOutcome",
    "NdcUnit",
    "Patient",
    "Payer",
    "PlanType",
    "Provider",
    "Remittance",
    "Sex",
    "UnsupportedVersionError",
    "X12Error",
]
