"""The claims domain model: what a claim, a line, an authorization and a remittance are.

Pydantic v2 models, money as :class:`~decimal.Decimal`, named after the X12 5010 elements they come
from (the docstrings cite them). Validation errors carry a field path (``lines.2.units``) and say what
was expected. Patient identity (name, member id, birth date) is PHI: it is never put in messages.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from claims import codes
from claims.enums import (
    AdjustmentGroup,
    AuthorizationStatus,
    ClaimForm,
    NdcUnit,
    PlanType,
    Sex,
)

__all__ = [
    "Address",
    "Adjustment",
    "Authorization",
    "Claim",
    "ClaimLine",
    "ClaimPayment",
    "Diagnosis",
    "LineOutcome",
    "Patient",
    "Payer",
    "Provider",
    "Remittance",
]


def _hcpcs(value: str) -> str:
    value = value.strip().upper()
    if not codes.is_hcpcs(value):
        raise ValueError(
            "expected a HCPCS Level II code (a letter and four digits, e.g. J9271) "
            "or a CPT code (five characters, e.g. 96413)"
        )
    return value


def _modifier(value: str) -> str:
    value = value.strip().upper()
    if not codes.is_modifier(value):
        raise ValueError("expected a two-character modifier such as JZ, JW, 25 or 59")
    return value


def _icd10(value: str) -> str:
    dotted = codes.format_icd10(value)
    if not codes.is_valid_icd10(dotted):
        raise ValueError(f"{dotted!r} is not an ICD-10-CM code")
    return dotted


def _npi(value: str) -> str:
    value = value.strip()
    if not codes.npi_is_valid(value):
        raise ValueError("expected a 10-digit NPI with a valid check digit")
    return value


def _ndc(value: str) -> str:
    digits = codes.normalize_ndc(value)
    if not codes.NDC_PATTERN.match(digits):
        raise ValueError("expected an 11-digit NDC in 5-4-2 form (hyphens optional)")
    return digits


def _nct(value: str) -> str:
    digits = value.strip().upper().removeprefix("NCT")
    if not codes.NCT_PATTERN.match(digits):
        raise ValueError("expected an 8-digit ClinicalTrials.gov number (REF*P4, without 'NCT')")
    return digits


HcpcsCode = Annotated[str, AfterValidator(_hcpcs)]
ModifierCode = Annotated[str, AfterValidator(_modifier)]
Icd10Code = Annotated[str, AfterValidator(_icd10)]
Npi = Annotated[str, AfterValidator(_npi)]
Ndc = Annotated[str, AfterValidator(_ndc)]
NctNumber = Annotated[str, AfterValidator(_nct)]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=2)]
RevenueCode = Annotated[str, Field(pattern=r"^[0-9]{4}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=False)


class Address(_Model):
    """A postal address (N3/N4). For patients it is PHI and never logged."""

    line1: str = Field(min_length=1, max_length=55, repr=False)
    city: str = Field(min_length=1, max_length=30, repr=False)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str = Field(pattern=r"^[0-9]{5}([0-9]{4})?$", repr=False)


class Payer(_Model):
    """Who pays: 2010BB NM1*PR (payer id and name); ``plan_type`` from SBR09 claim filing indicator."""

    payer_id: str = Field(min_length=1, max_length=80)
    name: str = Field(min_length=1, max_length=60)
    plan_type: PlanType
    address: Address | None = None


class Patient(_Model):
    """The person treated (PHI). 2010BA subscriber or 2010CA patient NM1 and DMG.

    ``member_id`` is the subscriber's member id (NM1*IL*..*MI), ``relationship`` SBR02/PAT01
    (``18`` self, ``01`` spouse, ``19`` child, ``G8`` other).
    """

    # repr=False keeps PHI out of reprs that could end up in logs.
    member_id: str = Field(min_length=1, max_length=80, repr=False)
    last_name: str = Field(min_length=1, max_length=60, repr=False)
    first_name: str | None = Field(default=None, max_length=35, repr=False)
    birth_date: dt.date = Field(repr=False)
    sex: Sex = Sex.UNKNOWN
    relationship: str = Field(default="18", pattern=r"^(18|01|19|20|21|39|40|53|G8)$")
    address: Address | None = Field(default=None, repr=False)


class Provider(_Model):
    """A billing (2010AA) or rendering (2310B) provider, identified by NPI."""

    npi: Npi
    name: str = Field(min_length=1, max_length=60)
    tax_id: str | None = Field(default=None, pattern=r"^[0-9]{9}$")
    taxonomy: str | None = Field(default=None, pattern=r"^[0-9A-Z]{10}$")
    address: Address | None = None


class Diagnosis(_Model):
    """An ICD-10-CM diagnosis from 2300 HI (ABK principal, ABF other), stored in dotted form."""

    code: Icd10Code


class Authorization(_Model):
    """A prior authorization on file: what the payer approved, for whom, for which codes and when."""

    number: str = Field(min_length=1, max_length=50)
    payer_id: str = Field(min_length=1)
    member_id: str = Field(min_length=1)
    approved_codes: list[HcpcsCode] = Field(min_length=1)
    approved_units: Decimal | None = Field(default=None, gt=0, description="units approved in all")
    approved_visits: int | None = Field(default=None, gt=0)
    start_date: dt.date
    end_date: dt.date
    status: AuthorizationStatus = AuthorizationStatus.APPROVED
    requested_date: dt.date | None = None
    decided_date: dt.date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Authorization:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if self.requested_date and self.decided_date and self.decided_date < self.requested_date:
            raise ValueError("decided_date must not be before requested_date")
        return self

    def covers(self, code: str, on: dt.date) -> bool:
        """True when the authorization is approved for ``code`` on date ``on``."""
        return (
            self.status is AuthorizationStatus.APPROVED
            and code in self.approved_codes
            and self.start_date <= on <= self.end_date
        )


class ClaimLine(_Model):
    """One service line: 837P loop 2400 SV1, or 837I loop 2400 SV2."""

    line_number: int = Field(ge=1, description="LX01 assigned number")
    procedure_code: HcpcsCode = Field(description="SV101-2 / SV202-2 HCPCS or CPT code")
    modifiers: list[ModifierCode] = Field(default_factory=list, max_length=4, description="SV101-3..6")
    units: Decimal = Field(gt=0, max_digits=15, decimal_places=3, description="SV104 / SV205 units")
    charge: Money = Field(ge=0, description="SV102 / SV203 line charge")
    service_date: dt.date = Field(description="DTP*472")
    diagnosis_pointers: list[int] = Field(default_factory=lambda: [1], max_length=4, description="SV107")
    revenue_code: RevenueCode | None = Field(default=None, description="SV201 (837I only)")
    ndc: Ndc | None = Field(default=None, description="2410 LIN03")
    ndc_quantity: Decimal | None = Field(default=None, gt=0, description="2410 CTP04")
    ndc_unit: NdcUnit | None = Field(default=None, description="2410 CTP05-1")
    prior_authorization: str | None = Field(default=None, max_length=50, description="2400 REF*G1")
    control_number: str | None = Field(default=None, max_length=50, description="2400 REF*6R")
    description: str | None = Field(default=None, max_length=80, description="SV101-7 (NOC codes)")

    @model_validator(mode="after")
    def _check(self) -> ClaimLine:
        for p in self.diagnosis_pointers:
            if not 1 <= p <= 12:
                raise ValueError("diagnosis pointers must be between 1 and 12")
        if len(set(self.modifiers)) != len(self.modifiers):
            raise ValueError("a modifier appears twice on the line")
        if self.ndc is not None and (self.ndc_quantity is None or self.ndc_unit is None):
            raise ValueError("an NDC needs its quantity and unit of measure (CTP04, CTP05)")
        return self

    def has_modifier(self, modifier: str) -> bool:
        return modifier in self.modifiers


class Claim(_Model):
    """A claim as submitted (837P or 837I loop 2300 CLM with its lines).

    ``claim_id`` is CLM01, the patient control number that the 835 echoes in CLP01.
    ``place_of_service`` (CLM05-1, professional) or ``type_of_bill`` (facility type CLM05-1 and
    frequency CLM05-3, e.g. ``0131``, institutional) says where the service was given.
    """

    claim_id: str = Field(min_length=1, max_length=38)
    form: ClaimForm
    frequency_code: str = Field(default="1", pattern=r"^[0-9]$", description="CLM05-3")
    payer: Payer
    patient: Patient
    subscriber: Patient | None = Field(default=None, description="set when the patient is a dependent")
    billing_provider: Provider
    rendering_provider: Provider | None = None
    place_of_service: str | None = Field(default=None, pattern=r"^[0-9]{2}$")
    type_of_bill: str | None = Field(default=None, pattern=r"^0[0-9]{3}$")
    diagnoses: list[Diagnosis] = Field(min_length=1, max_length=25)
    condition_codes: list[str] = Field(default_factory=list, description="837I HI*BG")
    clinical_trial_number: NctNumber | None = Field(default=None, description="2300 REF*P4")
    prior_authorization: str | None = Field(default=None, max_length=50, description="2300 REF*G1")
    payer_claim_number: str | None = Field(default=None, description="2300 REF*F8 (replacements)")
    submission_date: dt.date | None = Field(default=None, description="BHT04 creation date")
    lines: list[ClaimLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Claim:
        if self.form is ClaimForm.PROFESSIONAL and self.place_of_service is None:
            raise ValueError("a professional claim needs place_of_service (CLM05-1)")
        if self.form is ClaimForm.INSTITUTIONAL:
            if self.type_of_bill is None:
                raise ValueError("an institutional claim needs type_of_bill (CLM05-1 and CLM05-3)")
            for line in self.lines:
                if line.revenue_code is None:
                    raise ValueError(f"line {line.line_number}: an institutional line needs revenue_code")
        numbers = [line.line_number for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line numbers must be unique within a claim")
        for line in self.lines:
            if any(p > len(self.diagnoses) for p in line.diagnosis_pointers):
                raise ValueError(
                    f"line {line.line_number}: a diagnosis pointer points past the "
                    f"{len(self.diagnoses)} diagnoses on the claim"
                )
            if line.service_date < self.patient.birth_date:
                raise ValueError(f"line {line.line_number}: service_date is before the patient's birth date")
            if self.submission_date is not None and line.service_date > self.submission_date:
                raise ValueError(f"line {line.line_number}: service_date is after the submission_date")
        return self

    @property
    def total_charge(self) -> Decimal:
        """CLM02: the sum of the line charges."""
        return sum((line.charge for line in self.lines), Decimal("0"))

    @property
    def service_from(self) -> dt.date:
        return min(line.service_date for line in self.lines)

    @property
    def service_to(self) -> dt.date:
        return max(line.service_date for line in self.lines)

    @property
    def diagnosis_codes(self) -> list[str]:
        return [d.code for d in self.diagnoses]


class Adjustment(_Model):
    """One reason triplet of an 835 CAS segment: group (CAS01), CARC, amount and quantity."""

    group: AdjustmentGroup
    reason_code: str = Field(pattern=r"^[A-Z0-9]{1,5}$", description="CARC")
    amount: Money
    quantity: Decimal | None = None


class LineOutcome(_Model):
    """How the payer decided one service line: 835 loop 2110 (SVC, DTM*472, CAS, REF*6R, AMT*B6, LQ)."""

    procedure_code: str = Field(description="SVC01-2 as adjudicated")
    modifiers: list[str] = Field(default_factory=list)
    submitted_procedure_code: str | None = Field(
        default=None, description="SVC06-2 when the payer changed it"
    )
    revenue_code: str | None = Field(default=None, description="SVC04")
    charge: Money = Field(description="SVC02")
    paid: Money = Field(description="SVC03")
    allowed: Money | None = Field(default=None, description="AMT*B6")
    units_paid: Decimal | None = Field(default=None, description="SVC05")
    service_date: dt.date | None = Field(default=None, description="DTM*472")
    control_number: str | None = Field(default=None, description="REF*6R line item control number")
    adjustments: list[Adjustment] = Field(default_factory=list)
    remark_codes: list[str] = Field(default_factory=list, description="LQ*HE RARCs")


class ClaimPayment(_Model):
    """One claim in an 835 (loop 2100 CLP) with its lines."""

    claim_id: str = Field(min_length=1, description="CLP01 patient control number (= CLM01)")
    status_code: str = Field(description="CLP02: 1/2/3 processed, 4 denied, 22 reversal ...")
    charge: Money = Field(description="CLP03")
    paid: Money = Field(description="CLP04")
    patient_responsibility: Money | None = Field(default=None, description="CLP05")
    filing_indicator: str | None = Field(default=None, description="CLP06")
    payer_claim_number: str | None = Field(default=None, description="CLP07")
    adjustments: list[Adjustment] = Field(default_factory=list, description="claim-level CAS")
    remark_codes: list[str] = Field(default_factory=list, description="MOA remark codes")
    lines: list[LineOutcome] = Field(default_factory=list)
    # NM1*QC: the patient as the payer names them (PHI: never logged, never a feature).
    patient_last_name: str | None = Field(default=None, repr=False)
    patient_first_name: str | None = Field(default=None, repr=False)
    member_id: str | None = Field(default=None, repr=False)


class Remittance(_Model):
    """One 835 transaction: a payer's payment advice for a batch of claims."""

    payer_id: str | None = Field(default=None, description="TRN03 / N1*PR identifier")
    payer_name: str = Field(description="1000A N1*PR")
    payer_address: Address | None = Field(default=None, description="1000A N3/N4")
    payee_name: str | None = Field(default=None, description="1000B N1*PE")
    payee_npi: str | None = Field(default=None, description="1000B N1*PE XX identifier")
    payment_date: dt.date | None = Field(default=None, description="BPR16")
    production_date: dt.date | None = Field(default=None, description="DTM*405")
    trace_number: str | None = Field(default=None, description="TRN02 check or EFT trace number")
    total_paid: Money = Field(description="BPR02")
    claims: list[ClaimPayment] = Field(default_factory=list)

    @property
    def received_date(self) -> dt.date | None:
        """When the practice learns the outcome: the production date, else the payment date."""
        return self.production_date or self.payment_date
