"""Named, synthetic sample claims and remittances (no real patient data).

They encode the worked examples of oncology-billing.md section 2.4 and a few variations, and are used by
the golden X12 files, the demo and the tests. ``make_claim(**overrides)`` builds a valid claim that a
test can change one field at a time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from claims.enums import AdjustmentGroup, ClaimForm, NdcUnit, PlanType, Sex
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

__all__ = ["SCENARIOS", "make_claim", "make_line", "sample_authorizations", "sample_remittances"]

SERVICE_DATE = dt.date(2026, 2, 3)
SUBMISSION_DATE = dt.date(2026, 2, 5)

PRACTICE = Provider(
    npi="1234567893",
    name="RIVERSIDE ONCOLOGY ASSOCIATES",
    tax_id="123456789",
    address=Address(line1="100 INFUSION WAY", city="COLUMBUS", state="OH", postal_code="43215"),
)
HOSPITAL = Provider(
    npi="1609876549",
    name="LAKESIDE HOSPITAL OUTPATIENT",
    tax_id="987654321",
    address=Address(line1="1 HOSPITAL DR", city="COLUMBUS", state="OH", postal_code="43210"),
)
ONCOLOGIST = Provider(npi="1326048703", name="ALEX DOCTOR")

MEDICARE = Payer(
    payer_id="15202",
    name="MEDICARE PART B OHIO",
    plan_type=PlanType.MEDICARE,
    address=Address(line1="PO BOX 6775", city="FARGO", state="ND", postal_code="58108"),
)
COMMERCIAL = Payer(
    payer_id="87726",
    name="NORTHSTAR COMMERCIAL HEALTH",
    plan_type=PlanType.COMMERCIAL,
    address=Address(line1="PO BOX 30555", city="SALT LAKE CITY", state="UT", postal_code="84130"),
)
MEDICARE_ADVANTAGE = Payer(
    payer_id="60054",
    name="SILVERPATH MEDICARE ADVANTAGE",
    plan_type=PlanType.MEDICARE_ADVANTAGE,
    address=Address(line1="PO BOX 981106", city="EL PASO", state="TX", postal_code="79998"),
)


def _patient(
    member_id: str, last: str, first: str, born: dt.date, sex: Sex, relationship: str = "18"
) -> Patient:
    return Patient(
        member_id=member_id,
        last_name=last,
        first_name=first,
        birth_date=born,
        sex=sex,
        relationship=relationship,
        address=Address(line1="12 SAMPLE ST", city="COLUMBUS", state="OH", postal_code="43201"),
    )


def make_line(number: int, code: str, units: str, charge: str, **overrides: Any) -> ClaimLine:
    """A service line on the sample service date; ``overrides`` set any other field."""
    values: dict[str, Any] = {
        "line_number": number,
        "procedure_code": code,
        "units": Decimal(units),
        "charge": Decimal(charge),
        "service_date": SERVICE_DATE,
        "control_number": f"L{number:03d}",
    }
    values.update(overrides)
    return ClaimLine(**values)


def _drug(
    number: int,
    code: str,
    units: str,
    charge: str,
    ndc: str,
    qty: str,
    unit: NdcUnit,
    *modifiers: str,
    pointers: list[int] | None = None,
) -> ClaimLine:
    return make_line(
        number,
        code,
        units,
        charge,
        modifiers=list(modifiers),
        ndc=ndc,
        ndc_quantity=Decimal(qty),
        ndc_unit=unit,
        diagnosis_pointers=pointers or [1, 2],
    )


def office_nsclc() -> Claim:
    """Office, NSCLC, carboplatin + pemetrexed + pembrolizumab (oncology-billing.md 2.4, first example)."""
    return Claim(
        claim_id="NSCLC0001",
        form=ClaimForm.PROFESSIONAL,
        payer=MEDICARE,
        patient=_patient("1EG4TE5MK72", "SAMPLE", "PAT", dt.date(1954, 6, 1), Sex.MALE),
        billing_provider=PRACTICE,
        rendering_provider=ONCOLOGIST,
        place_of_service="11",
        diagnoses=[Diagnosis(code="Z51.11"), Diagnosis(code="C34.90")],
        submission_date=SUBMISSION_DATE,
        lines=[
            make_line(1, "96413", "1", "350.00", diagnosis_pointers=[1, 2]),
            make_line(2, "96411", "1", "180.00", diagnosis_pointers=[1, 2]),
            make_line(3, "96417", "1", "170.00", diagnosis_pointers=[1, 2]),
            make_line(4, "96375", "2", "160.00", diagnosis_pointers=[1, 2]),
            make_line(5, "96367", "1", "120.00", diagnosis_pointers=[1, 2]),
            _drug(6, "J9271", "200", "14000.00", "00006302602", "8", NdcUnit.MILLILITER, "JZ"),
            _drug(7, "J9305", "100", "2400.00", "00002762301", "2", NdcUnit.UNIT, "JZ"),
            _drug(8, "J9045", "14", "90.00", "00703423901", "70", NdcUnit.MILLILITER),
            _drug(9, "J2469", "10", "60.00", "00409250410", "5", NdcUnit.MILLILITER, "JZ"),
            _drug(10, "J1453", "150", "380.00", "00006306100", "1", NdcUnit.UNIT, "JZ"),
            _drug(11, "J1100", "12", "12.00", "00404979530", "3", NdcUnit.MILLILITER),
        ],
    )


def office_folfox_dependent() -> Claim:
    """Office, colorectal FOLFOX + bevacizumab day 1, commercial plan; the patient is a dependent."""
    subscriber = _patient("NCH77120034", "SAMPLE", "SUB", dt.date(1968, 3, 9), Sex.MALE)
    return Claim(
        claim_id="FOLFOX0001",
        form=ClaimForm.PROFESSIONAL,
        payer=COMMERCIAL,
        patient=_patient(
            "NCH77120034", "SAMPLE", "DEP", dt.date(1970, 11, 23), Sex.FEMALE, relationship="01"
        ),
        subscriber=subscriber,
        billing_provider=PRACTICE,
        rendering_provider=ONCOLOGIST,
        place_of_service="11",
        diagnoses=[Diagnosis(code="Z51.11"), Diagnosis(code="C18.7")],
        prior_authorization="NCA55501",
        submission_date=SUBMISSION_DATE,
        lines=[
            make_line(1, "96413", "1", "350.00"),
            make_line(2, "96415", "1", "80.00"),
            make_line(3, "96368", "1", "60.00"),
            make_line(4, "96417", "1", "170.00"),
            make_line(5, "96411", "1", "180.00"),
            make_line(6, "96416", "1", "300.00"),
            make_line(7, "96375", "1", "80.00"),
            _drug(8, "J9263", "300", "195.00", "00703398501", "30", NdcUnit.MILLILITER, "JZ"),
            _drug(9, "J9035", "40", "4400.00", "50242006101", "16", NdcUnit.MILLILITER, "JZ"),
            make_line(10, "99214", "1", "210.00", modifiers=["25"], diagnosis_pointers=[2]),
        ],
    )


def hospital_trial() -> Claim:
    """Hospital outpatient (837I, TOB 0131) clinical-trial visit with a Medicare Advantage patient."""
    return Claim(
        claim_id="HOPD0001",
        form=ClaimForm.INSTITUTIONAL,
        payer=MEDICARE,
        patient=_patient("3KQ9RT2AB11", "SAMPLE", "TRIAL", dt.date(1949, 1, 30), Sex.FEMALE),
        billing_provider=HOSPITAL,
        rendering_provider=ONCOLOGIST,
        type_of_bill="0131",
        diagnoses=[Diagnosis(code="C50.911"), Diagnosis(code="Z00.6")],
        condition_codes=["30"],
        clinical_trial_number="01234567",
        submission_date=SUBMISSION_DATE,
        lines=[
            make_line(1, "96413", "1", "900.00", revenue_code="0335", modifiers=["Q1"]),
            make_line(2, "96375", "1", "150.00", revenue_code="0260", modifiers=["Q1"]),
            make_line(
                3,
                "J9999",
                "1",
                "0.01",
                revenue_code="0636",
                modifiers=["Q0"],
                description="INVESTIGATIONAL AGENT SPONSOR SUPPLIED",
            ),
            make_line(
                4,
                "J1100",
                "12",
                "15.00",
                revenue_code="0636",
                modifiers=["Q1"],
                ndc="00404979530",
                ndc_quantity=Decimal("3"),
                ndc_unit=NdcUnit.MILLILITER,
            ),
            make_line(5, "G0463", "1", "250.00", revenue_code="0510", modifiers=["Q1"]),
        ],
    )


#: Named scenarios for golden files and tests.
SCENARIOS = {
    "office_nsclc_carbo_pem_pembro": office_nsclc,
    "office_folfox_bev_dependent": office_folfox_dependent,
    "hospital_outpatient_trial": hospital_trial,
}


def make_claim(scenario: str = "office_nsclc_carbo_pem_pembro", **overrides: Any) -> Claim:
    """A valid sample claim with ``overrides`` applied (validated again)."""
    claim = SCENARIOS[scenario]()
    if not overrides:
        return claim
    data = claim.model_dump()
    data.update(overrides)
    return Claim.model_validate(data)


def sample_authorizations() -> list[Authorization]:
    """Authorizations on file for the sample claims."""
    return [
        Authorization(
            number="NCA55501",
            payer_id=COMMERCIAL.payer_id,
            member_id="NCH77120034",
            approved_codes=["J9263", "J9035", "J9190", "J0640"],
            approved_units=Decimal("4000"),
            start_date=dt.date(2026, 1, 10),
            end_date=dt.date(2026, 7, 9),
        )
    ]


def _paid(
    line: ClaimLine, allowed: str, paid: str, *adjustments: Adjustment, remarks: tuple[str, ...] = ()
) -> LineOutcome:
    return LineOutcome(
        procedure_code=line.procedure_code,
        modifiers=line.modifiers,
        revenue_code=line.revenue_code,
        charge=line.charge,
        paid=Decimal(paid),
        allowed=Decimal(allowed),
        units_paid=line.units,
        service_date=line.service_date,
        control_number=line.control_number,
        adjustments=list(adjustments),
        remark_codes=list(remarks),
    )


def _adj(group: AdjustmentGroup, carc: str, amount: str) -> Adjustment:
    return Adjustment(group=group, reason_code=carc, amount=Decimal(amount))


def _outcomes(claim: Claim, decide: dict[int, LineOutcome]) -> list[LineOutcome]:
    """Paid-in-full-at-80% outcomes for every line not in ``decide``."""
    outcomes = []
    for line in claim.lines:
        if line.line_number in decide:
            outcomes.append(decide[line.line_number])
            continue
        allowed = (line.charge * Decimal("0.8")).quantize(Decimal("0.01"))
        coins = (allowed * Decimal("0.2")).quantize(Decimal("0.01"))
        outcomes.append(
            _paid(
                line,
                str(allowed),
                str(allowed - coins),
                _adj(AdjustmentGroup.CONTRACTUAL, "45", str(line.charge - allowed)),
                _adj(AdjustmentGroup.PATIENT, "2", str(coins)),
            )
        )
    return outcomes


def _payment(claim: Claim, lines: list[LineOutcome], status: str = "1") -> ClaimPayment:
    pr = sum(
        (a.amount for line in lines for a in line.adjustments if a.group is AdjustmentGroup.PATIENT),
        Decimal("0"),
    )
    return ClaimPayment(
        claim_id=claim.claim_id,
        status_code=status,
        charge=claim.total_charge,
        paid=sum((line.paid for line in lines), Decimal("0")),
        patient_responsibility=pr,
        filing_indicator={"medicare": "MB", "commercial": "12"}.get(claim.payer.plan_type.value, "16"),
        payer_claim_number=f"ICN{claim.claim_id}",
        lines=lines,
        patient_last_name=claim.patient.last_name,
        patient_first_name=claim.patient.first_name,
        member_id=claim.patient.member_id,
    )


def sample_remittances() -> list[Remittance]:
    """835s answering the sample claims: the NSCLC claim paid but one drug line denied (CO-16/M119),
    the FOLFOX claim's bevacizumab denied for authorization (CO-197), the trial claim's investigational
    line denied as non-covered (CO-96/N789)."""
    nsclc, folfox, trial = office_nsclc(), office_folfox_dependent(), hospital_trial()
    pem = nsclc.lines[6]
    bev = folfox.lines[8]
    inv = trial.lines[2]
    medicare = Remittance(
        payer_id=MEDICARE.payer_id,
        payer_name=MEDICARE.name,
        payer_address=MEDICARE.address,
        payee_name=PRACTICE.name,
        payee_npi=PRACTICE.npi,
        payment_date=dt.date(2026, 3, 10),
        production_date=dt.date(2026, 3, 6),
        trace_number="EFT20260310A",
        total_paid=Decimal("0"),
        claims=[
            _payment(
                nsclc,
                _outcomes(
                    nsclc,
                    {
                        7: _paid(
                            pem,
                            "0",
                            "0",
                            _adj(AdjustmentGroup.CONTRACTUAL, "16", "2400.00"),
                            remarks=("M119",),
                        )
                    },
                ),
            ),
            _payment(
                trial,
                _outcomes(
                    trial,
                    {
                        3: _paid(
                            inv, "0", "0", _adj(AdjustmentGroup.CONTRACTUAL, "96", "0.01"), remarks=("N789",)
                        )
                    },
                ),
            ),
        ],
    )
    commercial = Remittance(
        payer_id=COMMERCIAL.payer_id,
        payer_name=COMMERCIAL.name,
        payer_address=COMMERCIAL.address,
        payee_name=PRACTICE.name,
        payee_npi=PRACTICE.npi,
        payment_date=dt.date(2026, 3, 20),
        production_date=dt.date(2026, 3, 18),
        trace_number="CHK00012345",
        total_paid=Decimal("0"),
        claims=[
            _payment(
                folfox,
                _outcomes(
                    folfox,
                    {
                        9: _paid(
                            bev,
                            "0",
                            "0",
                            _adj(AdjustmentGroup.CONTRACTUAL, "197", "4400.00"),
                            remarks=("N54",),
                        )
                    },
                ),
            )
        ],
    )
    for remittance in (medicare, commercial):
        remittance.total_paid = sum((c.paid for c in remittance.claims), Decimal("0"))
    return [medicare, commercial]
