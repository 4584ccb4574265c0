"""Reference code tables: versioned data files with a provenance header, and typed, cached loaders.

The tables live in ``claims/reference/data`` (package data of ``claims``); each starts with ``# source``,
``# version``, ``# effective`` and ``# notes`` lines (see :mod:`claims.reference.datafile`). Nothing is read
at import time: each ``load_*`` function reads its file on first call and caches the result.

>>> from claims.reference import load_drugs, payment_limit
>>> load_drugs()["J9271"].billing_unit.descriptor
'1 MG'
"""

from claims.reference.admin_codes import AdminCategory, AdminCode, AdminMethod, load_admin_codes
from claims.reference.claim_codes import (
    BillType,
    PlaceOfService,
    RevenueCode,
    load_bill_types,
    load_places_of_service,
    load_revenue_codes,
)
from claims.reference.datafile import DataTable, Provenance, ReferenceDataError, Row, data_file, read_table
from claims.reference.denial_codes import Carc, Rarc, denial_category, load_carcs, load_rarcs
from claims.reference.drugs import (
    BillingUnit,
    Drug,
    MeasureUnit,
    PaymentLimit,
    Route,
    load_drugs,
    load_payment_limits,
    payment_limit,
    payment_limit_is_published,
    quarter_of,
)
from claims.reference.modifiers import Modifier, ModifierCategory, exclusive_modifier_groups, load_modifiers
from claims.reference.ndc import NdcPackage, hcpcs_for_ndc, load_ndc_crosswalk, ndcs_for_hcpcs
from claims.reference.unit_limits import load_unit_limits, read_unit_limits, unit_limit

#: Every data file shipped in ``claims/reference/data``.
DATA_FILES = (
    "admin_codes.csv",
    "bill_types.csv",
    "carc.csv",
    "drugs.csv",
    "modifiers.csv",
    "ndc_crosswalk.csv",
    "payment_limits.csv",
    "places_of_service.csv",
    "rarc.csv",
    "revenue_codes.csv",
    "unit_limits.csv",
)


def provenance_of(name: str) -> Provenance:
    """The provenance header of one packaged data file (``provenance_of("carc.csv").version``)."""
    return read_table(data_file(name)).provenance


__all__ = [
    "DATA_FILES",
    "AdminCategory",
    "AdminCode",
    "AdminMethod",
    "BillType",
    "BillingUnit",
    "Carc",
    "DataTable",
    "Drug",
    "MeasureUnit",
    "Modifier",
    "ModifierCategory",
    "NdcPackage",
    "PaymentLimit",
    "PlaceOfService",
    "Provenance",
    "Rarc",
    "ReferenceDataError",
    "RevenueCode",
    "Route",
    "Row",
    "data_file",
    "denial_category",
    "exclusive_modifier_groups",
    "hcpcs_for_ndc",
    "load_admin_codes",
    "load_bill_types",
    "load_carcs",
    "load_drugs",
    "load_modifiers",
    "load_ndc_crosswalk",
    "load_payment_limits",
    "load_places_of_service",
    "load_rarcs",
    "load_revenue_codes",
    "load_unit_limits",
    "ndcs_for_hcpcs",
    "payment_limit",
    "payment_limit_is_published",
    "provenance_of",
    "quarter_of",
    "read_table",
    "read_unit_limits",
    "unit_limit",
]
