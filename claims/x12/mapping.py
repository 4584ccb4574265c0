"""The one place where X12 wire objects and domain objects meet, in both directions.

Reading: x12sdk transaction models (from :mod:`claims.x12.wire`) -> :class:`~claims.model.Claim` and
:class:`~claims.model.Remittance`. Writing: domain objects -> nested dicts with x12sdk's field names,
validated into x12sdk models by :func:`claims.x12.wire.build_model`.

Element references follow the 5010 implementation guides (005010X222A2 837P, 005010X223A3 837I,
005010X221A1 835).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from claims.enums import AdjustmentGroup, ClaimForm, PlanType, Sex
from claims.errors import DomainValueError
from claims.model import (
    Address,
    Adjustment,
    Claim,
    ClaimLine,
    ClaimPayment,
    LineOutcome,
    Patient,
    Provider,
    Remittance,
)

#: SBR09 / CLP06 claim filing indicator for each plan type, and back.
FILING_INDICATOR = {
    PlanType.MEDICARE: "MB",
    PlanType.MEDICARE_ADVANTAGE: "16",
    PlanType.MEDICAID: "MC",
    PlanType.COMMERCIAL: "CI",
}
_PLAN_BY_INDICATOR = {
    "MA": PlanType.MEDICARE,
    "MB": PlanType.MEDICARE,
    "16": PlanType.MEDICARE_ADVANTAGE,
    "HM": PlanType.COMMERCIAL,
    "MC": PlanType.MEDICAID,
}
#: HI qualifiers: principal and other diagnoses (ICD-10 ABK/ABF; BK/BF are their ICD-9 forms,
#: still seen in test files), condition codes (BG).
_PRINCIPAL = {"ABK", "BK"}
_OTHER_DX = {"ABF", "BF"}
_CONDITION = {"BG"}


def plan_type_for(indicator: str | None) -> PlanType:
    """Plan type from SBR09 / CLP06; anything not Medicare, Medicare Advantage or Medicaid is commercial."""
    return _PLAN_BY_INDICATOR.get(indicator or "", PlanType.COMMERCIAL)


def _parts(value: str | None, component: str) -> list[str]:
    return value.split(component) if value else []


def _date(value: Any) -> dt.date | None:
    """D8 dates arrive as dates from x12sdk; RD8 ranges as ``CCYYMMDD-CCYYMMDD`` text (the start is used)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)[:8]
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _x12_date(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _plain(value: Decimal) -> Decimal:
    """Units and quantities without trailing zeros (X12 R type: ``200``, not ``200.000``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal("1"))
    return value.normalize()


# ----------------------------------------------------------------------------------------------------
# Reading 837
# ----------------------------------------------------------------------------------------------------


def _address(loop: Any) -> Address | None:
    n3 = getattr(loop, "n3_segment", None)
    n4 = getattr(loop, "n4_segment", None)
    if n3 is None or n4 is None or not n4.state_province_code or not n4.postal_code:
        return None
    return Address(
        line1=n3.address_information_1,
        city=n4.city_name,
        state=n4.state_province_code,
        postal_code=n4.postal_code,
    )


def _person(loop: Any, member_id: str, relationship: str | None) -> dict[str, Any]:
    nm1 = loop.nm1_segment
    dmg = getattr(loop, "dmg_segment", None)
    return {
        "member_id": member_id,
        "last_name": nm1.name_last_or_organization_name,
        "first_name": nm1.name_first,
        "birth_date": _date(dmg.date_time_period) if dmg is not None else None,
        "sex": dmg.gender_code if dmg is not None and dmg.gender_code in ("F", "M") else Sex.UNKNOWN,
        "relationship": relationship or "18",
        "address": _address(loop),
    }


def _refs(segments: Sequence[Any] | Any | None) -> dict[str, str]:
    found: dict[str, str] = {}
    if segments is not None and not isinstance(segments, list):
        segments = [segments]  # loops whose REF does not repeat hold a single segment
    for ref in segments or []:
        if ref is not None:
            found.setdefault(str(ref.reference_identification_qualifier), ref.reference_identification)
    return found


def _diagnoses(hi_segments: Sequence[Any] | None) -> tuple[list[dict[str, str]], list[str]]:
    principal: list[dict[str, str]] = []
    others: list[dict[str, str]] = []
    conditions: list[str] = []
    for hi in hi_segments or []:
        for i in range(1, 13):
            composite = getattr(hi, f"health_care_code_{i}")
            if not composite or len(composite) < 2:
                continue
            qualifier, code = composite[0], composite[1]
            if qualifier in _PRINCIPAL:
                principal.append({"code": code})
            elif qualifier in _OTHER_DX:
                others.append({"code": code})
            elif qualifier in _CONDITION:
                conditions.append(code)
    return principal + others, conditions


def _line_837p(loop: Any, component: str) -> dict[str, Any]:
    sv1 = loop.sv1_segment
    procedure = _parts(sv1.product_service_id_qualifier, component)
    refs = _refs(loop.ref_segment)
    service_date = None
    for dtp in loop.dtp_segment or []:
        if str(dtp.date_time_qualifier) == "472":
            service_date = _date(dtp.date_time_period)
    line: dict[str, Any] = {
        "line_number": int(loop.lx_segment.assigned_number),
        "procedure_code": procedure[1] if len(procedure) > 1 else "",
        "modifiers": [m for m in procedure[2:6] if m],
        "description": procedure[6] if len(procedure) > 6 and procedure[6] else None,
        "units": sv1.service_unit_count,
        "charge": sv1.line_item_charge_amount,
        "service_date": service_date,
        "diagnosis_pointers": [int(p) for p in _parts(sv1.composite_diagnosis_code_pointer, component) if p],
        "prior_authorization": refs.get("G1"),
        "control_number": refs.get("6R"),
    }
    _drug(loop.loop_2410, line, component)
    return line


def _line_837i(loop: Any, component: str, statement_from: dt.date | None) -> dict[str, Any]:
    sv2 = loop.sv2_segment
    procedure = _parts(sv2.composite_medical_procedure_identifier, component)
    refs = _refs(loop.ref_segment)
    dtp = loop.dtp_segment
    line: dict[str, Any] = {
        "line_number": int(loop.lx_segment.assigned_number),
        "revenue_code": sv2.service_line_revenue_code,
        "procedure_code": procedure[1] if len(procedure) > 1 else "",
        "modifiers": [m for m in procedure[2:6] if m],
        "description": procedure[6] if len(procedure) > 6 and procedure[6] else None,
        "units": sv2.service_unit_count,
        "charge": sv2.line_item_charge_amount,
        "service_date": _date(dtp.date_time_period) if dtp is not None else statement_from,
        "diagnosis_pointers": [1],
        "prior_authorization": refs.get("G1"),
        "control_number": refs.get("6R"),
    }
    _drug(loop.loop_2410, line, component)
    return line


def _drug(loop_2410: Any, line: dict[str, Any], component: str) -> None:
    if loop_2410 is None:
        return
    line["ndc"] = loop_2410.lin_segment.national_drug_code_universal_product_number
    line["ndc_quantity"] = loop_2410.ctp_segment.quantity
    unit = _parts(loop_2410.ctp_segment.composite_unit_of_measure, component)
    line["ndc_unit"] = unit[0] if unit else None


def _provider(loop: Any) -> dict[str, Any] | None:
    if loop is None:
        return None
    nm1 = loop.nm1_segment
    name = " ".join(p for p in (nm1.name_first, nm1.name_last_or_organization_name) if p)
    refs = _refs(getattr(loop, "ref_segment", None))
    return {
        "npi": nm1.identification_code or "",
        "name": name,
        "tax_id": refs.get("EI"),
        "address": _address(loop),
    }


def claim_records_837(model: Any) -> Iterator[Any]:
    """Every claim of an 837 transaction in file order, from the subscriber and the dependent branch."""
    return iter(model.claims())


def claim_from_837(
    record: Any,
    *,
    form: ClaimForm,
    filing_indicator: str | None,
    submission_date: dt.date | None,
    component: str,
) -> Claim:
    """Map one x12sdk ``SubmittedClaim`` record to a :class:`Claim`.

    Raises :class:`DomainValueError` naming the field path when a value is not a valid domain value.
    """
    loop = record.claim
    clm = loop.clm_segment
    location = _parts(clm.health_care_service_location_information, component)
    subscriber_nm1 = record.subscriber.nm1_segment
    member_id = subscriber_nm1.identification_code or ""
    diagnoses, conditions = _diagnoses(loop.hi_segment)
    refs = _refs(loop.ref_segment)
    payer_nm1 = record.payer.nm1_segment
    data: dict[str, Any] = {
        "claim_id": clm.patient_control_number,
        "form": form,
        "frequency_code": location[2] if len(location) > 2 else "1",
        "payer": {
            "payer_id": payer_nm1.identification_code or payer_nm1.name_last_or_organization_name,
            "name": payer_nm1.name_last_or_organization_name,
            "plan_type": plan_type_for(filing_indicator),
            "address": _address(record.payer),
        },
        "patient": _person(record.patient, member_id, record.relationship if record.is_dependent else "18"),
        "subscriber": _person(record.subscriber, member_id, "18") if record.is_dependent else None,
        "billing_provider": _provider(record.billing_provider),
        "diagnoses": diagnoses,
        "condition_codes": conditions,
        "clinical_trial_number": refs.get("P4"),
        "prior_authorization": refs.get("G1"),
        "payer_claim_number": refs.get("F8"),
        "submission_date": submission_date,
    }
    if form is ClaimForm.PROFESSIONAL:
        data["place_of_service"] = location[0] if location else None
        data["rendering_provider"] = _provider(loop.loop_2310b)
        data["lines"] = [_line_837p(line, component) for line in loop.loop_2400]
    else:
        facility = location[0] if location else ""
        frequency = location[2] if len(location) > 2 else "1"
        data["type_of_bill"] = f"0{facility}{frequency}"
        data["rendering_provider"] = _provider(loop.loop_2310a)
        statement_from = None
        for dtp in loop.dtp_segment or []:
            if str(dtp.date_time_qualifier) == "434":
                statement_from = _date(dtp.date_time_period)
        data["lines"] = [_line_837i(line, component, statement_from) for line in loop.loop_2400]
    try:
        claim = Claim.model_validate(data)
    except ValidationError as e:
        raise _domain_error(e) from e
    declared = clm.total_claim_charge_amount
    if _money(declared) != _money(claim.total_charge):
        raise DomainValueError(
            "total_charge", f"CLM02 is {declared} but the lines add up to {claim.total_charge}"
        )
    return claim


def _domain_error(e: ValidationError) -> DomainValueError:
    first = e.errors()[0]
    path = ".".join(str(p) for p in first["loc"]) or "(claim)"
    message = first["msg"].removeprefix("Value error, ")
    # pydantic echoes the offending input in "input"; it is left out on purpose (it may be PHI).
    return DomainValueError(path, message)


def subscriber_filing_indicators(model: Any) -> list[str | None]:
    """SBR09 of every claim record, in the order of :func:`claim_records_837`."""
    indicators: list[str | None] = []
    for loop_2000a in model.loop_2000a:
        for loop_2000b in loop_2000a.loop_2000b:
            indicator = str(loop_2000b.sbr_segment.claim_filing_indicator_code)
            indicators.extend([indicator] * len(loop_2000b.loop_2300 or []))
            for loop_2000c in loop_2000b.loop_2000c or []:
                indicators.extend([indicator] * len(loop_2000c.loop_2300 or []))
    return indicators


# ----------------------------------------------------------------------------------------------------
# Reading 835
# ----------------------------------------------------------------------------------------------------


def _adjustments(cas_segments: Sequence[Any] | None) -> list[Adjustment]:
    found: list[Adjustment] = []
    for cas in cas_segments or []:
        group = AdjustmentGroup(str(cas.adjustment_group_code))
        for i in range(1, 7):
            reason = getattr(cas, f"adjustment_reason_code_{i}")
            if not reason:
                continue
            found.append(
                Adjustment(
                    group=group,
                    reason_code=reason,
                    amount=getattr(cas, f"monetary_amount_{i}") or Decimal("0"),
                    quantity=getattr(cas, f"quantity_{i}"),
                )
            )
    return found


def _line_outcome(loop: Any, component: str) -> LineOutcome:
    svc = loop.svc_segment
    procedure = _parts(svc.composite_medical_procedure_identifier_1, component)
    original = _parts(svc.composite_medical_procedure_identifier_2, component)
    qualifier = procedure[0] if procedure else ""
    code = procedure[1] if len(procedure) > 1 else ""
    service_date = None
    for dtm in loop.dtm_segment or []:
        if str(dtm.date_time_qualifier) in ("472", "150"):
            service_date = _date(dtm.production_date)
    allowed = None
    for amt in loop.amt_segment or []:
        if str(amt.amount_qualifier_code) == "B6":
            allowed = amt.monetary_amount
    return LineOutcome(
        procedure_code=code if qualifier != "NU" else "",
        revenue_code=svc.revenue_code or (code if qualifier == "NU" else None),
        modifiers=[m for m in procedure[2:6] if m],
        submitted_procedure_code=original[1] if len(original) > 1 else None,
        charge=svc.line_item_charge_amount,
        paid=svc.line_item_provider_payment_amount,
        allowed=allowed,
        units_paid=svc.units_of_service_paid_count,
        service_date=service_date,
        control_number=_refs(loop.ref_segment).get("6R"),
        adjustments=_adjustments(loop.cas_segment),
        remark_codes=[
            lq.form_identifier for lq in loop.lq_segment or [] if str(lq.code_list_qualifier_code) == "HE"
        ],
    )


def remittance_from_835(model: Any, *, component: str) -> Remittance:
    """Map one x12sdk 835 transaction model to a :class:`Remittance`."""
    header = model.header
    payer = model.loop_1000a
    payee = model.loop_1000b
    production = None
    dtm = header.dtm_segment
    if dtm is not None and str(dtm.date_time_qualifier) == "405":
        production = _date(dtm.production_date)
    payer_refs = _refs(payer.ref_segment)
    claims: list[ClaimPayment] = []
    for loop_2000 in model.loop_2000:
        for loop in loop_2000.loop_2100:
            clp = loop.clp_segment
            patient = next((n for n in loop.nm1_segment if n.entity_identifier_code == "QC"), None)
            remarks: list[str] = []
            if loop.moa_segment is not None:
                remarks = [
                    code
                    for i in range(1, 6)
                    if (code := getattr(loop.moa_segment, f"claim_payment_remark_code_{i}"))
                ]
            claims.append(
                ClaimPayment(
                    claim_id=clp.patient_control_number,
                    status_code=str(clp.claim_status_code),
                    charge=clp.total_claim_charge_amount,
                    paid=clp.claim_payment_amount,
                    patient_responsibility=clp.patient_responsibility_amount,
                    filing_indicator=str(clp.claim_filing_indicator_code),
                    payer_claim_number=clp.payer_claim_control_number,
                    adjustments=_adjustments(loop.cas_segment),
                    remark_codes=remarks,
                    lines=[_line_outcome(line, component) for line in loop.loop_2110 or []],
                    patient_last_name=patient.name_last_or_organization_name if patient else None,
                    patient_first_name=patient.name_first if patient else None,
                    member_id=patient.identification_code if patient else None,
                )
            )
    return Remittance(
        payer_id=payer_refs.get("2U")
        or payer.n1_segment.identification_code
        or header.trn_segment.originating_company_identifier,
        payer_name=payer.n1_segment.name,
        payer_address=_address(payer),
        payee_name=payee.n1_segment.name,
        payee_npi=payee.n1_segment.identification_code,
        payment_date=_date(header.bpr_segment.eft_effective_date),
        production_date=production,
        trace_number=header.trn_segment.reference_identification_1,
        total_paid=header.bpr_segment.total_actual_provider_payment_amount,
        claims=claims,
    )


# ----------------------------------------------------------------------------------------------------
# Writing 837
# ----------------------------------------------------------------------------------------------------


def _n3n4(address: Address | None, what: str) -> dict[str, dict[str, Any]]:
    if address is None:
        raise DomainValueError(f"{what}.address", "an address is required to write this X12 loop (N3/N4)")
    return {
        "n3_segment": {"address_information_1": address.line1},
        "n4_segment": {
            "city_name": address.city,
            "state_province_code": address.state,
            "postal_code": address.postal_code,
        },
    }


def _dmg(person: Patient) -> dict[str, Any]:
    return {
        "date_time_period_format_qualifier": "D8",
        "date_time_period": _x12_date(person.birth_date),
        "gender_code": person.sex.value,
    }


def _person_nm1(entity: str, person: Patient, *, with_id: bool) -> dict[str, Any]:
    nm1: dict[str, Any] = {
        "entity_identifier_code": entity,
        "entity_type_qualifier": "1",
        "name_last_or_organization_name": person.last_name,
        "name_first": person.first_name,
    }
    if with_id:
        nm1 |= {"identification_code_qualifier": "MI", "identification_code": person.member_id}
    return nm1


def _service_line(line: ClaimLine, form: ClaimForm, component: str) -> dict[str, Any]:
    composite = ["HC", line.procedure_code, *line.modifiers]
    if line.description:
        composite += [""] * (6 - len(composite)) + [line.description]
    loop: dict[str, Any] = {"lx_segment": {"assigned_number": str(line.line_number)}}
    date = {
        "date_time_qualifier": "472",
        "date_time_period_format_qualifier": "D8",
        "date_time_period": _x12_date(line.service_date),
    }
    if form is ClaimForm.PROFESSIONAL:
        loop["sv1_segment"] = {
            "product_service_id_qualifier": component.join(composite),
            "line_item_charge_amount": _money(line.charge),
            "unit_basis_measurement_code": "UN",
            "service_unit_count": _plain(line.units),
            "composite_diagnosis_code_pointer": component.join(str(p) for p in line.diagnosis_pointers),
        }
        loop["dtp_segment"] = [date]
    else:
        loop["sv2_segment"] = {
            "service_line_revenue_code": line.revenue_code,
            "composite_medical_procedure_identifier": component.join(composite),
            "line_item_charge_amount": _money(line.charge),
            "measurement_code": "UN",
            "service_unit_count": _plain(line.units),
        }
        loop["dtp_segment"] = date
    refs = []
    if line.prior_authorization:
        refs.append(
            {"reference_identification_qualifier": "G1", "reference_identification": line.prior_authorization}
        )
    if line.control_number:
        refs.append(
            {"reference_identification_qualifier": "6R", "reference_identification": line.control_number}
        )
    if refs:
        loop["ref_segment"] = refs
    if line.ndc is not None and line.ndc_quantity is not None and line.ndc_unit is not None:
        loop["loop_2410"] = {
            "lin_segment": {
                "product_service_id_qualifier": "N4",
                "national_drug_code_universal_product_number": line.ndc,
            },
            "ctp_segment": {
                "quantity": _plain(line.ndc_quantity),
                "composite_unit_of_measure": line.ndc_unit.value,
            },
        }
    return loop


def _hi(claim: Claim) -> list[dict[str, Any]]:
    composites = []
    for i, dx in enumerate(claim.diagnoses):
        qualifier = "ABK" if i == 0 else "ABF"
        composites.append([qualifier, dx.code.replace(".", "")])
    segments = []
    for start in range(0, len(composites), 12):
        chunk = composites[start : start + 12]
        segments.append({f"health_care_code_{i + 1}": c for i, c in enumerate(chunk)})
    if claim.condition_codes:
        segments.append(
            {f"health_care_code_{i + 1}": ["BG", c] for i, c in enumerate(claim.condition_codes[:12])}
        )
    return segments


def _claim_loop(claim: Claim, component: str) -> dict[str, Any]:
    if claim.form is ClaimForm.PROFESSIONAL:
        location = [claim.place_of_service or "11", "B", claim.frequency_code]
    else:
        tob = claim.type_of_bill or "0131"
        location = [tob[1:3], "A", tob[3]]
    loop: dict[str, Any] = {
        "clm_segment": {
            "patient_control_number": claim.claim_id,
            "total_claim_charge_amount": _money(claim.total_charge),
            "health_care_service_location_information": component.join(location),
            "provider_or_supplier_signature_indicator": "Y" if claim.form is ClaimForm.PROFESSIONAL else None,
            "provider_accept_assignment_code": "A" if claim.form is ClaimForm.PROFESSIONAL else "C",
            "benefit_assignment_certification_indicator": "Y",
            "release_of_information_code": "Y",
        },
        "hi_segment": _hi(claim),
    }
    refs = []
    for qualifier, value in (
        ("G1", claim.prior_authorization),
        ("P4", claim.clinical_trial_number),
        ("F8", claim.payer_claim_number),
    ):
        if value:
            refs.append({"reference_identification_qualifier": qualifier, "reference_identification": value})
    if refs:
        loop["ref_segment"] = refs
    if claim.form is ClaimForm.INSTITUTIONAL:
        loop["dtp_segment"] = [
            {
                "date_time_qualifier": "434",
                "date_time_period_format_qualifier": "RD8",
                "date_time_period": f"{_x12_date(claim.service_from)}-{_x12_date(claim.service_to)}",
            }
        ]
        loop["cl1_segment"] = {"admission_type_code": "3", "patient_status_code": "01"}
        if claim.rendering_provider is not None:
            loop["loop_2310a"] = {"nm1_segment": _provider_nm1("71", claim.rendering_provider, person=True)}
    elif claim.rendering_provider is not None:
        loop["loop_2310b"] = {"nm1_segment": _provider_nm1("82", claim.rendering_provider, person=True)}
    loop["loop_2400"] = [_service_line(line, claim.form, component) for line in claim.lines]
    return loop


def _provider_nm1(entity: str, provider: Provider, *, person: bool) -> dict[str, Any]:
    if person and " " in provider.name:
        first, last = provider.name.split(" ", 1)
        names = {"name_last_or_organization_name": last, "name_first": first}
    else:
        names = {"name_last_or_organization_name": provider.name}
    return {
        "entity_identifier_code": entity,
        "entity_type_qualifier": "1" if person else "2",
        **names,
        "identification_code_qualifier": "XX",
        "identification_code": provider.npi,
    }


def structure_837(
    claims: Sequence[Claim],
    *,
    control_number: str,
    submitter_name: str,
    receiver_name: str,
    receiver_id: str,
    created: dt.date,
    component: str = ":",
) -> dict[str, Any]:
    """The x12sdk structure of one 837 transaction holding ``claims`` (all of one form).

    Claims are grouped by billing provider (2000A), then by subscriber and payer (2000B); a patient who
    is not the subscriber gets a 2000C loop under the subscriber. HL numbers are assigned in one pass.
    """
    form = claims[0].form
    if any(c.form is not form for c in claims):
        raise ValueError("one 837 transaction holds claims of one form (837P or 837I)")
    by_provider: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_provider[claim.billing_provider.npi].append(claim)
    hl = 0
    loops_2000a = []
    for provider_claims in by_provider.values():
        provider = provider_claims[0].billing_provider
        hl += 1
        provider_hl = hl
        loops_2000b = []
        for subscriber_claims, own, dependents in subscriber_groups(provider_claims):
            first = subscriber_claims[0]
            subscriber = first.subscriber or first.patient
            hl += 1
            subscriber_hl = hl
            loops_2000c = []
            for dependent_claims in dependents.values():
                patient = dependent_claims[0].patient
                hl += 1
                loops_2000c.append(
                    {
                        "hl_segment": {
                            "hierarchical_id_number": str(hl),
                            "hierarchical_parent_id_number": str(subscriber_hl),
                            "hierarchical_level_code": "23",
                            "hierarchical_child_code": "0",
                        },
                        "pat_segment": {"individual_relationship_code": patient.relationship},
                        "loop_2010ca": {
                            "nm1_segment": _person_nm1("QC", patient, with_id=False),
                            **_n3n4(patient.address, "patient"),
                            "dmg_segment": _dmg(patient),
                        },
                        "loop_2300": [_claim_loop(c, component) for c in dependent_claims],
                    }
                )
            subscriber_loop: dict[str, Any] = {
                "nm1_segment": _person_nm1("IL", subscriber, with_id=True),
                "dmg_segment": _dmg(subscriber),
            }
            if subscriber.address is not None:
                subscriber_loop |= _n3n4(subscriber.address, "subscriber")
            payer_loop: dict[str, Any] = {
                "nm1_segment": {
                    "entity_identifier_code": "PR",
                    "entity_type_qualifier": "2",
                    "name_last_or_organization_name": first.payer.name,
                    "identification_code_qualifier": "PI",
                    "identification_code": first.payer.payer_id,
                }
            }
            if first.payer.address is not None:
                payer_loop |= _n3n4(first.payer.address, "payer")
            loops_2000b.append(
                {
                    "hl_segment": {
                        "hierarchical_id_number": str(subscriber_hl),
                        "hierarchical_parent_id_number": str(provider_hl),
                        "hierarchical_level_code": "22",
                        "hierarchical_child_code": "1" if loops_2000c else "0",
                    },
                    "sbr_segment": {
                        "payer_responsibility_code": "P",
                        "individual_relationship_code": "18" if own else None,
                        "claim_filing_indicator_code": FILING_INDICATOR[first.payer.plan_type],
                    },
                    "loop_2010ba": subscriber_loop,
                    "loop_2010bb": payer_loop,
                    "loop_2300": [_claim_loop(c, component) for c in own] or None,
                    "loop_2000c": loops_2000c or None,
                }
            )
        billing: dict[str, Any] = {
            "nm1_segment": _provider_nm1("85", provider, person=False),
            **_n3n4(provider.address, "billing_provider"),
        }
        tax_ref = {
            "reference_identification_qualifier": "EI",
            "reference_identification": provider.tax_id or "000000000",
        }
        # 837P repeats this REF (a list); 837I allows one.
        billing["ref_segment"] = [tax_ref] if form is ClaimForm.PROFESSIONAL else tax_ref
        loops_2000a.append(
            {
                "hl_segment": {
                    "hierarchical_id_number": str(provider_hl),
                    "hierarchical_level_code": "20",
                    "hierarchical_child_code": "1",
                },
                "loop_2010aa": billing,
                "loop_2000b": loops_2000b,
            }
        )
    version = "005010X222A2" if form is ClaimForm.PROFESSIONAL else "005010X223A3"
    first_provider = claims[0].billing_provider
    return {
        "header": {
            "st_segment": {
                "transaction_set_identifier_code": "837",
                "transaction_set_control_number": control_number,
                "implementation_convention_reference": version,
            },
            "bht_segment": {
                "hierarchical_structure_code": "0019",
                "transaction_set_purpose_code": "00",
                "submitter_transactional_identifier": control_number,
                "transaction_set_creation_date": _x12_date(created),
                "transaction_set_creation_time": "1200",
                "transaction_type_code": "CH",
            },
        },
        "loop_1000a": {
            "nm1_segment": {
                "entity_identifier_code": "41",
                "entity_type_qualifier": "2",
                "name_last_or_organization_name": submitter_name,
                "identification_code_qualifier": "46",
                "identification_code": first_provider.tax_id or first_provider.npi,
            },
            "per_segment": [
                {
                    "contact_function_code": "IC",
                    "name": "BILLING OFFICE",
                    "communication_number_qualifier_1": "TE",
                    "communication_number_1": "8005550100",
                }
            ],
        },
        "loop_1000b": {
            "nm1_segment": {
                "entity_identifier_code": "40",
                "entity_type_qualifier": "2",
                "name_last_or_organization_name": receiver_name,
                "identification_code_qualifier": "46",
                "identification_code": receiver_id,
            }
        },
        "loop_2000a": loops_2000a,
    }


# ----------------------------------------------------------------------------------------------------
# Writing 835
# ----------------------------------------------------------------------------------------------------


def _cas(adjustments: Sequence[Adjustment]) -> list[dict[str, Any]]:
    by_group: dict[str, list[Adjustment]] = defaultdict(list)
    for adj in adjustments:
        by_group[adj.group.value].append(adj)
    segments = []
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            segment: dict[str, Any] = {"adjustment_group_code": group}
            for i, adj in enumerate(items[start : start + 6], start=1):
                segment[f"adjustment_reason_code_{i}"] = adj.reason_code
                segment[f"monetary_amount_{i}"] = _money(adj.amount)
                if adj.quantity is not None:
                    segment[f"quantity_{i}"] = _plain(adj.quantity)
            segments.append(segment)
    return segments


def _svc(line: LineOutcome, component: str) -> dict[str, Any]:
    composite = ["HC", line.procedure_code, *line.modifiers]
    loop: dict[str, Any] = {
        "svc_segment": {
            "composite_medical_procedure_identifier_1": component.join(composite),
            "line_item_charge_amount": _money(line.charge),
            "line_item_provider_payment_amount": _money(line.paid),
            "revenue_code": line.revenue_code,
            "units_of_service_paid_count": _plain(line.units_paid) if line.units_paid is not None else None,
        }
    }
    if line.submitted_procedure_code:
        loop["svc_segment"]["composite_medical_procedure_identifier_2"] = component.join(
            ["HC", line.submitted_procedure_code]
        )
    if line.service_date is not None:
        loop["dtm_segment"] = [
            {"date_time_qualifier": "472", "production_date": _x12_date(line.service_date)}
        ]
    if line.adjustments:
        loop["cas_segment"] = _cas(line.adjustments)
    if line.control_number:
        loop["ref_segment"] = [
            {"reference_identification_qualifier": "6R", "reference_identification": line.control_number}
        ]
    if line.allowed is not None:
        loop["amt_segment"] = [{"amount_qualifier_code": "B6", "monetary_amount": _money(line.allowed)}]
    if line.remark_codes:
        loop["lq_segment"] = [
            {"code_list_qualifier_code": "HE", "form_identifier": code} for code in line.remark_codes
        ]
    return loop


def structure_835(remittance: Remittance, *, control_number: str, component: str = ":") -> dict[str, Any]:
    """The x12sdk structure of one 835 transaction for ``remittance``."""
    claims = []
    for payment in remittance.claims:
        patient_nm1: dict[str, Any] = {
            "entity_identifier_code": "QC",
            "entity_type_qualifier": "1",
            "name_last_or_organization_name": payment.patient_last_name or "UNKNOWN",
            "name_first": payment.patient_first_name,
        }
        if payment.member_id:
            patient_nm1 |= {"identification_code_qualifier": "MI", "identification_code": payment.member_id}
        loop: dict[str, Any] = {
            "clp_segment": {
                "patient_control_number": payment.claim_id,
                "claim_status_code": payment.status_code,
                "total_claim_charge_amount": _money(payment.charge),
                "claim_payment_amount": _money(payment.paid),
                "patient_responsibility_amount": _money(payment.patient_responsibility)
                if payment.patient_responsibility is not None
                else None,
                "claim_filing_indicator_code": payment.filing_indicator or "CI",
                "payer_claim_control_number": payment.payer_claim_number,
            },
            "nm1_segment": [patient_nm1],
            "loop_2110": [_svc(line, component) for line in payment.lines] or None,
        }
        if payment.adjustments:
            loop["cas_segment"] = _cas(payment.adjustments)
        if payment.remark_codes:
            loop["moa_segment"] = {
                f"claim_payment_remark_code_{i + 1}": c for i, c in enumerate(payment.remark_codes[:5])
            }
        claims.append(loop)
    header: dict[str, Any] = {
        "st_segment": {
            "transaction_set_identifier_code": "835",
            "transaction_set_control_number": control_number,
            "implementation_convention_reference": "005010X221A1",
        },
        "bpr_segment": {
            "transaction_handling_code": "I" if remittance.total_paid > 0 else "H",
            "total_actual_provider_payment_amount": _money(remittance.total_paid),
            "credit_debit_flag_code": "C",
            "payment_method_code": "CHK" if remittance.total_paid > 0 else "NON",
            "eft_effective_date": _x12_date(remittance.payment_date) if remittance.payment_date else None,
        },
        "trn_segment": {
            "trace_type_code": "1",
            "reference_identification_1": remittance.trace_number or control_number,
            "originating_company_identifier": "1" + (remittance.payer_id or "000000000")[:9].rjust(9, "0"),
        },
    }
    if remittance.production_date is not None:
        header["dtm_segment"] = {
            "date_time_qualifier": "405",
            "production_date": _x12_date(remittance.production_date),
        }
    payer_loop: dict[str, Any] = {
        "n1_segment": {"entity_identifier_code": "PR", "name": remittance.payer_name},
        **_n3n4(remittance.payer_address, "payer"),
    }
    if remittance.payer_id:
        payer_loop["ref_segment"] = [
            {"reference_identification_qualifier": "2U", "reference_identification": remittance.payer_id}
        ]
    payee: dict[str, Any] = {"entity_identifier_code": "PE", "name": remittance.payee_name or "PROVIDER"}
    if remittance.payee_npi:
        payee |= {"identification_code_qualifier": "XX", "identification_code": remittance.payee_npi}
    return {
        "header": header,
        "loop_1000a": payer_loop,
        "loop_1000b": {"n1_segment": payee},
        "loop_2000": [{"lx_segment": {"assigned_number": "1"}, "loop_2100": claims}],
    }


def _frozen(value: Any, skip: str | None = None) -> Any:
    """A hashable copy of a domain value (models as tuples of their fields, lists as tuples)."""
    if isinstance(value, BaseModel):
        return tuple((k, _frozen(v)) for k, v in value.__dict__.items() if k != skip)
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def subscriber_groups(
    claims: Sequence[Claim],
) -> list[tuple[list[Claim], list[Claim], dict[Any, list[Claim]]]]:
    """One billing provider's claims grouped as the 837 hierarchy nests them: per subscriber and payer
    (2000B), the claims of the subscriber themselves, and per dependent (2000C) that dependent's claims.

    Claims share a 2000B loop only when all it carries is the same (the payer with its plan type, the
    subscriber's name, id, birth date, sex and address) and either all are the subscriber's own claims or
    all are dependents'; dependents share a 2000C loop only when all of the patient's fields are the same.
    Otherwise a later claim would be written with the first one's values and read back changed.
    """
    by_subscriber: dict[Any, list[Claim]] = defaultdict(list)
    for claim in claims:
        own = claim.subscriber is None
        person = _frozen(claim.patient if own else claim.subscriber, skip="relationship" if own else None)
        by_subscriber[(claim.patient.member_id, own, person, _frozen(claim.payer))].append(claim)
    groups = []
    for subscriber_claims in by_subscriber.values():
        own_claims = [c for c in subscriber_claims if c.subscriber is None]
        dependents: dict[Any, list[Claim]] = defaultdict(list)
        for c in subscriber_claims:
            if c.subscriber is not None:
                dependents[_frozen(c.patient)].append(c)
        groups.append((subscriber_claims, own_claims, dependents))
    return groups
