"""Direct X12 serialization of domain claims and remittances: the bulk-writing fast path.

:func:`claims.x12.writer.write_837` and :func:`~claims.x12.writer.write_835` normally build x12sdk
transaction models from :mod:`claims.x12.mapping`'s structures and let x12sdk write them; that is the
reference, and it validates every segment. Writing a million simulated lines that way takes minutes, most
of it in x12sdk's per-instance type introspection. With ``validate=False`` the writer calls this module
instead, which writes the same segments straight from the domain objects, in the order of the x12sdk
loop models and with their element formatting:

* elements joined by ``*``, trailing empty elements dropped, each segment ended by ``~`` and a newline
  between segments (x12sdk ``X12Segment.x12`` / ``X12SegmentGroup.x12``);
* money with two decimals (``_money``), units and quantities without trailing zeros (``_plain``), dates
  ``CCYYMMDD``, composites joined by ``:``;
* the ISA/GS/GE/IEA envelope of x12sdk's ``write_transactions`` (one functional group per run of
  transactions of the same set and version, control numbers and counts kept consistent).

Every choice of loop, segment and value mirrors :func:`claims.x12.mapping.structure_837` and
:func:`~claims.x12.mapping.structure_835`; ``tests/claims/test_x12_serializer.py`` proves the bytes are
identical to the x12sdk path for the golden files, simulated batches and generated claims and remittances
(hypothesis). A change to the mapping must be made here too, and those tests say so when it is not.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from claims.enums import ClaimForm
from claims.errors import DomainValueError
from claims.model import Address, Adjustment, Claim, ClaimLine, LineOutcome, Patient, Provider, Remittance
from claims.x12.mapping import FILING_INDICATOR, subscriber_groups

__all__ = ["Interchange", "serialize_835", "serialize_837"]

_CENT = Decimal("0.01")
_ONE = Decimal("1")
#: GS01 functional identifier code of each transaction set (x12sdk ``FUNCTIONAL_IDENTIFIER_CODES``).
_FUNCTIONAL_GROUP = {"837": "HC", "835": "HP"}
#: SE01 counts ST and SE besides the segments in between.
_VERSIONS = {ClaimForm.PROFESSIONAL: "005010X222A2", ClaimForm.INSTITUTIONAL: "005010X223A3"}


def _seg(*elements: str) -> str:
    """One segment: x12sdk joins every element and drops the trailing empty ones."""
    return "*".join(elements).rstrip("*") + "~"


#: The text of amounts and quantities already written. Equal non-zero finite decimals (``1.5`` and
#: ``1.50``) give the same text, so the value is the key; zero is not remembered (``-0`` equals ``0``).
_MONEY: dict[Decimal, str] = {}
_PLAIN: dict[Decimal, str] = {}
_REMEMBERED = 100_000


def _money(value: Decimal) -> str:
    text = _MONEY.get(value) if value else None
    if text is None:
        text = format(value.quantize(_CENT), "f")
        if value and value.is_finite():
            if len(_MONEY) > _REMEMBERED:
                _MONEY.clear()
            _MONEY[value] = text
    return text


def _plain(value: Decimal) -> str:
    """X12 R type: ``200``, not ``200.000`` (``mapping._plain``)."""
    text = _PLAIN.get(value) if value else None
    if text is None:
        if value == value.to_integral_value():
            text = format(value.quantize(_ONE), "f")
        else:
            text = format(value.normalize(), "f")
        if value and value.is_finite():
            if len(_PLAIN) > _REMEMBERED:
                _PLAIN.clear()
            _PLAIN[value] = text
    return text


_DATES: dict[dt.date, str] = {}


def _date(value: dt.date) -> str:
    text = _DATES.get(value)
    if text is None:
        if len(_DATES) > 50_000:
            _DATES.clear()
        text = _DATES[value] = value.strftime("%Y%m%d")
    return text


def _n3n4(out: list[str], address: Address | None, what: str) -> None:
    if address is None:
        raise DomainValueError(f"{what}.address", "an address is required to write this X12 loop (N3/N4)")
    out.append(_seg("N3", address.line1))
    out.append(_seg("N4", address.city, address.state, address.postal_code))


def _dmg(person: Patient) -> str:
    return _seg("DMG", "D8", _date(person.birth_date), person.sex.value)


def _person_nm1(entity: str, person: Patient, *, with_id: bool) -> str:
    if with_id:
        return _seg("NM1", entity, "1", person.last_name, person.first_name or "", "", "", "", "MI",
                    person.member_id)  # fmt: skip
    return _seg("NM1", entity, "1", person.last_name, person.first_name or "")


def _provider_nm1(entity: str, provider: Provider, *, person: bool) -> str:
    if person and " " in provider.name:
        first, last = provider.name.split(" ", 1)
    else:
        first, last = "", provider.name
    return _seg("NM1", entity, "1" if person else "2", last, first, "", "", "", "XX", provider.npi)


# ----------------------------------------------------------------------------------------------------
# 837
# ----------------------------------------------------------------------------------------------------


def _service_line(out: list[str], line: ClaimLine, professional: bool) -> None:
    # The hot segments are written as f-strings with _seg's rule: trailing empty elements dropped.
    if line.description:
        composite = ["HC", line.procedure_code, *line.modifiers]
        composite += [""] * (6 - len(composite)) + [line.description]
        procedure = ":".join(composite)
    elif line.modifiers:
        procedure = f"HC:{line.procedure_code}:{':'.join(line.modifiers)}"
    else:
        procedure = f"HC:{line.procedure_code}"
    out.append(f"LX*{line.line_number}~")
    if professional:
        pointers = ":".join([str(p) for p in line.diagnosis_pointers])
        out.append(
            f"SV1*{procedure}*{_money(line.charge)}*UN*{_plain(line.units)}***{pointers}".rstrip("*") + "~"
        )
    else:
        revenue = line.revenue_code or ""
        out.append(
            f"SV2*{revenue}*{procedure}*{_money(line.charge)}*UN*{_plain(line.units)}".rstrip("*") + "~"
        )
    out.append(f"DTP*472*D8*{_date(line.service_date)}~")
    if line.prior_authorization:
        out.append(_seg("REF", "G1", line.prior_authorization))
    if line.control_number:
        out.append(_seg("REF", "6R", line.control_number))
    if line.ndc is not None and line.ndc_quantity is not None and line.ndc_unit is not None:
        out.append(_seg("LIN", "", "N4", line.ndc))
        out.append(_seg("CTP", "", "", "", _plain(line.ndc_quantity), line.ndc_unit._value_))


def _hi(out: list[str], claim: Claim) -> None:
    composites = [
        ("ABK:" if i == 0 else "ABF:") + dx.code.replace(".", "") for i, dx in enumerate(claim.diagnoses)
    ]
    for start in range(0, len(composites), 12):
        out.append(_seg("HI", *composites[start : start + 12]))
    if claim.condition_codes:
        out.append(_seg("HI", *("BG:" + c for c in claim.condition_codes[:12])))


def _claim_loop(out: list[str], claim: Claim) -> None:
    professional = claim.form is ClaimForm.PROFESSIONAL
    if professional:
        location = f"{claim.place_of_service or '11'}:B:{claim.frequency_code}"
    else:
        tob = claim.type_of_bill or "0131"
        location = f"{tob[1:3]}:A:{tob[3]}"
    out.append(_seg("CLM", claim.claim_id, _money(claim.total_charge), "", "", location,
                    "Y" if professional else "", "A" if professional else "C", "Y", "Y"))  # fmt: skip
    if not professional:
        out.append(f"DTP*434*RD8*{_date(claim.service_from)}-{_date(claim.service_to)}~")
        out.append("CL1*3**01~")
    for qualifier, value in (
        ("G1", claim.prior_authorization),
        ("P4", claim.clinical_trial_number),
        ("F8", claim.payer_claim_number),
    ):
        if value:
            out.append(_seg("REF", qualifier, value))
    _hi(out, claim)
    if claim.rendering_provider is not None:
        out.append(_provider_nm1("82" if professional else "71", claim.rendering_provider, person=True))
    for line in claim.lines:
        _service_line(out, line, professional)


def _transaction_837(
    claims: Sequence[Claim],
    *,
    control_number: str,
    submitter_name: str,
    receiver_name: str,
    receiver_id: str,
    created: dt.date,
) -> list[str]:
    """The segments (ST through SE) of one 837 transaction; mirrors ``mapping.structure_837``."""
    form = claims[0].form
    if any(c.form is not form for c in claims):
        raise ValueError("one 837 transaction holds claims of one form (837P or 837I)")
    version = _VERSIONS[form]
    first_provider = claims[0].billing_provider
    out = [
        f"ST*837*{control_number}*{version}~",
        _seg("BHT", "0019", "00", control_number, _date(created), "1200", "CH"),
        _seg(
            "NM1",
            "41",
            "2",
            submitter_name,
            "",
            "",
            "",
            "",
            "46",
            first_provider.tax_id or first_provider.npi,
        ),
        "PER*IC*BILLING OFFICE*TE*8005550100~",
        _seg("NM1", "40", "2", receiver_name, "", "", "", "", "46", receiver_id),
    ]
    by_provider: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_provider[claim.billing_provider.npi].append(claim)
    hl = 0
    for provider_claims in by_provider.values():
        provider = provider_claims[0].billing_provider
        hl += 1
        provider_hl = hl
        out.append(f"HL*{provider_hl}**20*1~")
        out.append(_provider_nm1("85", provider, person=False))
        _n3n4(out, provider.address, "billing_provider")
        out.append(_seg("REF", "EI", provider.tax_id or "000000000"))
        for subscriber_claims, own, dependents in subscriber_groups(provider_claims):
            first = subscriber_claims[0]
            subscriber = first.subscriber or first.patient
            hl += 1
            subscriber_hl = hl
            out.append(f"HL*{subscriber_hl}*{provider_hl}*22*{'1' if dependents else '0'}~")
            out.append(_seg("SBR", "P", "18" if own else "", "", "", "", "", "", "",
                            FILING_INDICATOR[first.payer.plan_type]))  # fmt: skip
            out.append(_person_nm1("IL", subscriber, with_id=True))
            if subscriber.address is not None:
                _n3n4(out, subscriber.address, "subscriber")
            out.append(_dmg(subscriber))
            payer = first.payer
            out.append(_seg("NM1", "PR", "2", payer.name, "", "", "", "", "PI", payer.payer_id))
            if payer.address is not None:
                _n3n4(out, payer.address, "payer")
            for claim in own:
                _claim_loop(out, claim)
            for dependent_claims in dependents.values():
                patient = dependent_claims[0].patient
                hl += 1
                out.append(f"HL*{hl}*{subscriber_hl}*23*0~")
                out.append(_seg("PAT", patient.relationship))
                out.append(_person_nm1("QC", patient, with_id=False))
                _n3n4(out, patient.address, "patient")
                out.append(_dmg(patient))
                for claim in dependent_claims:
                    _claim_loop(out, claim)
    out.append(f"SE*{len(out) + 1}*{control_number}~")
    return out


# ----------------------------------------------------------------------------------------------------
# 835
# ----------------------------------------------------------------------------------------------------


def _cas(out: list[str], adjustments: Sequence[Adjustment]) -> None:
    # One CAS segment per group (in order of first appearance), six reason triplets at most in each.
    by_group: dict[str, list[str]] = {}
    for adj in adjustments:
        quantity = _plain(adj.quantity) if adj.quantity is not None else ""
        triplet = f"{adj.reason_code}*{_money(adj.amount)}*{quantity}"
        triplets = by_group.get(adj.group._value_)
        if triplets is None:
            by_group[adj.group._value_] = [triplet]
        else:
            triplets.append(triplet)
    for group, triplets in by_group.items():
        for start in range(0, len(triplets), 6):
            out.append(f"CAS*{group}*{'*'.join(triplets[start : start + 6])}".rstrip("*") + "~")


def _svc(out: list[str], line: LineOutcome) -> None:
    if line.modifiers:
        composite = f"HC:{line.procedure_code}:{':'.join(line.modifiers)}"
    else:
        composite = f"HC:{line.procedure_code}"
    original = "HC:" + line.submitted_procedure_code if line.submitted_procedure_code else ""
    units = _plain(line.units_paid) if line.units_paid is not None else ""
    amounts = f"{_money(line.charge)}*{_money(line.paid)}"
    out.append(f"SVC*{composite}*{amounts}*{line.revenue_code or ''}*{units}*{original}".rstrip("*") + "~")
    if line.service_date is not None:
        out.append(f"DTM*472*{_date(line.service_date)}~")
    if line.adjustments:
        _cas(out, line.adjustments)
    if line.control_number:
        out.append(_seg("REF", "6R", line.control_number))
    if line.allowed is not None:
        out.append(f"AMT*B6*{_money(line.allowed)}~")
    for code in line.remark_codes:
        out.append(_seg("LQ", "HE", code))


def _transaction_835(remittance: Remittance, *, control_number: str) -> list[str]:
    """The segments (ST through SE) of one 835 transaction; mirrors ``mapping.structure_835``."""
    paid = remittance.total_paid > 0
    payment_date = _date(remittance.payment_date) if remittance.payment_date else ""
    out = [
        f"ST*835*{control_number}*005010X221A1~",
        _seg(
            "BPR",
            "I" if paid else "H",
            _money(remittance.total_paid),
            "C",
            "CHK" if paid else "NON",
            *([""] * 11),
            payment_date,
        ),
        _seg(
            "TRN",
            "1",
            remittance.trace_number or control_number,
            "1" + (remittance.payer_id or "000000000")[:9].rjust(9, "0"),
        ),
    ]
    if remittance.production_date is not None:
        out.append(f"DTM*405*{_date(remittance.production_date)}~")
    out.append(_seg("N1", "PR", remittance.payer_name))
    _n3n4(out, remittance.payer_address, "payer")
    if remittance.payer_id:
        out.append(_seg("REF", "2U", remittance.payer_id))
    if remittance.payee_npi:
        out.append(_seg("N1", "PE", remittance.payee_name or "PROVIDER", "XX", remittance.payee_npi))
    else:
        out.append(_seg("N1", "PE", remittance.payee_name or "PROVIDER"))
    out.append("LX*1~")
    for payment in remittance.claims:
        responsibility = payment.patient_responsibility
        out.append(_seg("CLP", payment.claim_id, payment.status_code, _money(payment.charge),
                        _money(payment.paid), _money(responsibility) if responsibility is not None else "",
                        payment.filing_indicator or "CI", payment.payer_claim_number or ""))  # fmt: skip
        if payment.adjustments:
            _cas(out, payment.adjustments)
        last_name = payment.patient_last_name or "UNKNOWN"
        if payment.member_id:
            out.append(_seg("NM1", "QC", "1", last_name, payment.patient_first_name or "", "", "", "", "MI",
                            payment.member_id))  # fmt: skip
        else:
            out.append(_seg("NM1", "QC", "1", last_name, payment.patient_first_name or ""))
        if payment.remark_codes:
            out.append(_seg("MOA", "", "", *payment.remark_codes[:5]))
        for line in payment.lines:
            _svc(out, line)
    out.append(f"SE*{len(out) + 1}*{control_number}~")
    return out


# ----------------------------------------------------------------------------------------------------
# Envelope
# ----------------------------------------------------------------------------------------------------


def _interchange_id(value: str, what: str) -> str:
    stripped = value.strip()
    if not 2 <= len(stripped) <= 15:
        raise ValueError(f"{what} must be 2 to 15 characters, got {len(stripped)}: {value!r}")
    return stripped.ljust(15)


class Interchange:
    """An ISA..IEA interchange written as x12sdk's ``write_transactions`` writes it.

    Transactions are added as segment lists with their set code and version; consecutive transactions of
    the same set and version share a functional group (GS06 = the interchange's control number, then +1).
    """

    def __init__(
        self, *, sender_id: str, receiver_id: str, created: dt.datetime, control_number: int
    ) -> None:
        self._sender = sender_id
        self._receiver = receiver_id
        self._sender_isa = _interchange_id(sender_id, "sender_id")
        self._receiver_isa = _interchange_id(receiver_id, "receiver_id")
        self._created = created
        self._control = str(control_number)
        self._groups: list[tuple[str, str, list[list[str]]]] = []

    def add(self, code: str, version: str, segments: list[str]) -> None:
        """Add one transaction (ST through SE) of set ``code`` (837, 835) and implementation ``version``."""
        if self._groups and self._groups[-1][0] == code and self._groups[-1][1] == version:
            self._groups[-1][2].append(segments)
        else:
            self._groups.append((code, version, [segments]))

    def text(self) -> str:
        """The whole interchange, segments separated by newlines and ending with one."""
        if not self._groups:
            raise ValueError("write_transactions requires at least one transaction")
        created = self._created
        control9 = self._control.zfill(9)
        chunks = [
            f"ISA*00*          *00*          *30*{self._sender_isa}*30*{self._receiver_isa}*"
            f"{created:%y%m%d}*{created:%H%M}*^*00501*{control9}*0*T*:~"
        ]
        for index, (code, version, members) in enumerate(self._groups):
            group = str(int(self._control) + index)
            chunks.append(
                _seg(
                    "GS",
                    _FUNCTIONAL_GROUP[code],
                    self._sender.strip(),
                    self._receiver.strip(),
                    f"{created:%Y%m%d}",
                    f"{created:%H%M}",
                    group,
                    "X",
                    version,
                )
            )
            for segments in members:
                chunks.extend(segments)
            chunks.append(f"GE*{len(members)}*{group}~")
        chunks.append(f"IEA*{len(self._groups)}*{control9}~")
        return "\n".join(chunks) + "\n"


def serialize_837(
    claims: Sequence[Claim],
    *,
    created: dt.datetime,
    sender_id: str,
    receiver_id: str,
    receiver_name: str,
    submitter_name: str,
    control_number: int,
    max_claims_per_transaction: int,
) -> str:
    """The interchange ``writer.write_837`` writes for ``claims``, without x12sdk (see the module docstring)."""
    batches: dict[tuple[ClaimForm, dt.date], list[Claim]] = defaultdict(list)
    for claim in claims:
        batches[(claim.form, claim.submission_date or created.date())].append(claim)
    interchange = Interchange(
        sender_id=sender_id, receiver_id=receiver_id, created=created, control_number=control_number
    )
    number = 0
    for (form, submitted), batch in sorted(batches.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
        for start in range(0, len(batch), max_claims_per_transaction):
            number += 1
            segments = _transaction_837(
                batch[start : start + max_claims_per_transaction],
                control_number=f"{number:04d}",
                submitter_name=submitter_name,
                receiver_name=receiver_name,
                receiver_id=receiver_id,
                created=submitted,
            )
            interchange.add("837", _VERSIONS[form], segments)
    return interchange.text()


def serialize_835(
    remittances: Sequence[Remittance],
    *,
    created: dt.datetime,
    sender_id: str,
    receiver_id: str,
    control_number: int,
) -> str:
    """The interchange ``writer.write_835`` writes for ``remittances``, without x12sdk."""
    interchange = Interchange(
        sender_id=sender_id, receiver_id=receiver_id, created=created, control_number=control_number
    )
    for i, remittance in enumerate(remittances, start=1):
        interchange.add("835", "005010X221A1", _transaction_835(remittance, control_number=f"{i:04d}"))
    return interchange.text()
