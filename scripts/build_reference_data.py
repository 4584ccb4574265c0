"""Rebuild the derived reference tables in ``claims/reference/data`` from the CMS extracts in ``../shared``.

Derived here (from data, plus the curated classifications below):
``drugs.csv``, ``payment_limits.csv``, ``ndc_crosswalk.csv``, ``admin_codes.csv``.
Hand-maintained (not touched by this script): ``modifiers.csv``, ``carc.csv``, ``rarc.csv``,
``places_of_service.csv``, ``bill_types.csv``, ``revenue_codes.csv``.

Run from the project root::

    .venv/bin/python scripts/build_reference_data.py [--shared ../shared/data]

The product never reads ``../shared`` at run time: it reads only the files written here.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "claims" / "reference" / "data"

QUARTERS = {  # quarter label -> (file stem, effective from, effective to)
    "2024Q1": ("asp_payment_limits_2024q1", "2024-01-01", "2024-03-31"),
    "2024Q4": ("asp_payment_limits_2024q4", "2024-10-01", "2024-12-31"),
    "2025Q4": ("asp_payment_limits_2025q4", "2025-10-01", "2025-12-31"),
    "2026Q1": ("asp_payment_limits_2026q1", "2026-01-01", "2026-03-31"),
}

# --- curated drug facts (our classification; see the notes header of drugs.csv) -----------------------------
DRUG_CLASS: dict[str, list[str]] = {
    "chemotherapy": [
        "J9045",
        "J9060",
        "J9263",
        "J9267",
        "J9264",
        "J9171",
        "J9201",
        "J9305",
        "J9190",
        "J9206",
        "J9205",
        "J9000",
        "Q2050",
        "J9075",
        "J9181",
        "J9025",
        "J0894",
        "J9033",
        "J9370",
        "J9390",
        "J9043",
        "J9179",
    ],
    "immunotherapy": [
        "J9271",
        "J9299",
        "J9289",
        "J9022",
        "J9024",
        "J9173",
        "J9228",
        "J9347",
        "J9119",
        "J9272",
        "J9023",
        "J9298",
    ],
    "targeted": [
        "J9041",
        "J9047",
        "J9035",
        "Q5107",
        "Q5118",
        "Q5126",
        "Q5129",
        "J9355",
        "Q5112",
        "Q5113",
        "Q5114",
        "Q5116",
        "Q5117",
        "Q5146",
        "J9356",
        "J9306",
        "J9316",
        "J9312",
        "Q5115",
        "Q5119",
        "Q5123",
        "J9311",
        "J9301",
        "J9145",
        "J9144",
        "J9055",
        "J9303",
        "J9308",
        "J9177",
        "J9317",
        "J9358",
        "J9354",
        "J9042",
    ],
    "hormonal": ["J9395", "J9217", "J9155"],
    "antiemetic": ["J2405", "J2469", "J1453", "J0185"],
    "supportive": ["J1100", "J1200", "J0640", "J0641"],
    "growth_factor": [
        "J2506",
        "Q5108",
        "Q5111",
        "Q5120",
        "Q5122",
        "Q5127",
        "Q5130",
        "J1449",
        "J1442",
        "Q5101",
        "Q5110",
        "J1447",
    ],
    "bone": ["J0897", "Q5136", "J3489"],
    "anemia": ["J1439", "J1756", "Q0138", "J1437", "J0885", "Q5106", "J0881"],
    "hydration": ["J7050"],
}
COMPLEX_CLASSES = {"chemotherapy", "immunotherapy", "targeted", "hormonal"}

BIOSIMILAR_OF = {
    **dict.fromkeys(["Q5107", "Q5118", "Q5126", "Q5129"], "J9035"),
    **dict.fromkeys(["Q5112", "Q5113", "Q5114", "Q5116", "Q5117", "Q5146"], "J9355"),
    **dict.fromkeys(["Q5115", "Q5119", "Q5123"], "J9312"),
    **dict.fromkeys(["Q5108", "Q5111", "Q5120", "Q5122", "Q5127", "Q5130"], "J2506"),
    **dict.fromkeys(["Q5101", "Q5110"], "J1442"),
    "Q5106": "J0885",
    "Q5136": "J0897",
}

# Routes: first = usual oncology route. IV unless listed (the SC products are named "SC" in the source).
ROUTES = {
    **dict.fromkeys(["J9289", "J9024", "J9356", "J9316", "J9311", "J9144", "J9155"], "sc"),
    "J9041": "sc|iv",
    "J9025": "sc|iv",
    "J9217": "sc|im",
    "J9395": "im",
    **dict.fromkeys(
        ["J2506", "Q5108", "Q5111", "Q5120", "Q5122", "Q5127", "Q5130", "J1449", "J0897", "Q5136"], "sc"
    ),
    **dict.fromkeys(["J1442", "Q5101", "Q5110", "J1447", "J0885", "Q5106", "J0881"], "sc|iv"),
}

# Container: multiple-dose only where the source says the presentations are multiple-dose.
MULTIPLE_DOSE = {"J9045", "J9267", "J9181"}
CONTAINER_NOTES = {
    "J9171": "some 160 mg/16 mL presentations are multiple-dose; check the NDC [UNVERIFIED per manufacturer]",
    "J2405": "40 mg/20 mL vial is multiple-dose (no JW/JZ from it)",
    "J1100": "30 mL vial is multiple-dose (no JW/JZ from it); 1 and 5 mL vials single-dose",
    "J9190": "includes pharmacy bulk packages",
    "J7050": "fluid bag",
    **dict.fromkeys(
        ["Q5112", "Q5113", "Q5114", "Q5116", "Q5117", "Q5146"],
        "420 mg presentation is multiple-dose [UNVERIFIED per manufacturer]",
    ),
}

# Vial sizes where the free text of the source cannot be parsed mechanically (amounts in the billing measure).
VIAL_OVERRIDES = {
    "J1100": ("4", "10", "20", "120"),  # 4 mg/mL in 1, 5, 30 mL; 10 mg/mL 1 mL
    "J9395": ("250",),  # 250 mg/5 mL syringes, two per 500 mg dose
    "J9155": ("80", "120"),  # 80 mg vial; kit of two 120 mg vials
}

# Named disease groups in the dx text that carry no ICD-10 code there.
DX_WORDS = {
    "HNSCC": "C00-C14/C32",
    "urothelial": "C65-C68",
}
DX_EXCLUDE = {"J9289": {"C81"}}  # SC nivolumab copies IV nivolumab's solid-tumor list: not Hodgkin
DX_AS = {  # "as <reference>" in the dx column -> the reference row's code
    "as Avastin": "J9035",
    "as Herceptin": "J9355",
    "as Rituxan": "J9312",
    "as Neulasta": "J2506",
    "as Neupogen": "J1442",
    "as Procrit": "J0885",
    "as Xgeva/Prolia": "J0897",
    "as IV atezolizumab": "J9022",
    "as fosaprepitant": "J1453",
    "as leucovorin": "J0640",
    "same solid-tumor indications as IV nivolumab": "J9299",
}

# --- administration codes (oncology-billing.md 2.1/2.2, in our own words) ---------------------------------
ADMIN_PRIMARIES_NOTE = (
    "allowed primaries from oncology-billing.md 2.2 item 12 [UNVERIFIED: check the CMS AOC file]"
)
# code: description, role, category, method, rank, min_minutes, max_minutes, additional_hour, primaries,
#       time_rule, revenue_code, notes
ADMIN: list[tuple[str, str, str, str, str, str, str, str, str, str, str, str, str]] = [
    (
        "96360",
        "IV hydration, first hour",
        "initial",
        "hydration",
        "infusion",
        "5",
        "31",
        "",
        "false",
        "",
        "more than 30 min; 30 min or less is not reported",
        "0260",
        "",
    ),
    (
        "96361",
        "IV hydration, each additional hour (also hydration after another initial service)",
        "add_on",
        "hydration",
        "infusion",
        "5",
        "31",
        "",
        "true",
        "96360|96365|96409|96413",
        "more than 30 min beyond the last full hour",
        "0260",
        ADMIN_PRIMARIES_NOTE,
    ),
    (
        "96365",
        "IV infusion of a non-chemo drug, first hour",
        "initial",
        "therapeutic",
        "infusion",
        "3",
        "16",
        "",
        "false",
        "",
        "more than 15 min (16-90 min)",
        "0260",
        "",
    ),
    (
        "96366",
        "Non-chemo IV infusion, each additional hour",
        "add_on",
        "therapeutic",
        "infusion",
        "3",
        "31",
        "",
        "true",
        "96365|96367",
        "more than 30 min beyond the last full hour",
        "0260",
        ADMIN_PRIMARIES_NOTE,
    ),
    (
        "96367",
        "Non-chemo IV infusion of a new drug given in sequence, up to an hour",
        "add_on",
        "therapeutic",
        "infusion",
        "3",
        "16",
        "",
        "false",
        "96365|96374|96409|96413",
        "more than 15 min",
        "0260",
        ADMIN_PRIMARIES_NOTE,
    ),
    (
        "96368",
        "Non-chemo IV infusion running at the same time as another",
        "concurrent",
        "therapeutic",
        "infusion",
        "3",
        "",
        "",
        "false",
        "96365|96366|96413|96415|96416",
        "once per encounter",
        "0260",
        ADMIN_PRIMARIES_NOTE + "; concurrent counts as an add-on for the primary rule",
    ),
    (
        "96372",
        "Non-chemo injection under the skin or into muscle",
        "standalone",
        "injection",
        "injection",
        "",
        "",
        "",
        "false",
        "",
        "",
        "0260",
        "hierarchy does not apply to SC/IM injections; revenue code [UNVERIFIED: practice varies]",
    ),
    (
        "96374",
        "Non-chemo IV push, single or first drug",
        "initial",
        "therapeutic",
        "push",
        "4",
        "",
        "15",
        "false",
        "",
        "push: 15 min or less, or clinician present throughout",
        "0260",
        "",
    ),
    (
        "96375",
        "Non-chemo IV push of each further new drug in sequence",
        "add_on",
        "therapeutic",
        "push",
        "4",
        "",
        "15",
        "false",
        "96360|96365|96374|96409|96413",
        "15 min or less",
        "0260",
        ADMIN_PRIMARIES_NOTE,
    ),
    (
        "96376",
        "Non-chemo IV push of the same drug again more than 30 min later",
        "add_on",
        "therapeutic",
        "push",
        "4",
        "",
        "15",
        "false",
        "96360|96365|96374|96409|96413",
        "more than 30 min after the earlier push",
        "0260",
        "facility only; allowed primaries not in oncology-billing.md 2.2 item 12, taken as for 96375 "
        "[UNVERIFIED: check the CMS AOC file]",
    ),
    (
        "96377",
        "Applying an on-body injector for a timed SC dose",
        "standalone",
        "injection",
        "injection",
        "",
        "",
        "",
        "false",
        "",
        "",
        "0260",
        "hierarchy does not apply to SC/IM injections; revenue code [UNVERIFIED: practice varies]",
    ),
    (
        "96401",
        "Chemo or complex biologic given SC or IM, non-hormonal",
        "standalone",
        "chemo",
        "injection",
        "",
        "",
        "",
        "false",
        "",
        "",
        "0331",
        "hierarchy does not apply to SC/IM injections",
    ),
    (
        "96402",
        "Hormonal antineoplastic given SC or IM",
        "standalone",
        "chemo",
        "injection",
        "",
        "",
        "",
        "false",
        "",
        "",
        "0331",
        "hierarchy does not apply to SC/IM injections",
    ),
    (
        "96409",
        "Chemo IV push, single or first drug",
        "initial",
        "chemo",
        "push",
        "2",
        "",
        "15",
        "false",
        "",
        "push: 15 min or less, or clinician present throughout",
        "0335",
        "",
    ),
    (
        "96411",
        "Chemo IV push of each further drug",
        "add_on",
        "chemo",
        "push",
        "2",
        "",
        "15",
        "false",
        "96409|96413",
        "15 min or less",
        "0335",
        ADMIN_PRIMARIES_NOTE,
    ),
    (
        "96413",
        "Chemo or complex biologic IV infusion, first hour, single or first drug",
        "initial",
        "chemo",
        "infusion",
        "1",
        "16",
        "",
        "false",
        "",
        "more than 15 min (16-90 min)",
        "0335",
        "",
    ),
    (
        "96415",
        "Chemo IV infusion, each additional hour",
        "add_on",
        "chemo",
        "infusion",
        "1",
        "31",
        "",
        "true",
        "96413|96417",
        "more than 30 min beyond the last full hour (starts at 91 min)",
        "0335",
        ADMIN_PRIMARIES_NOTE,
    ),
    (
        "96416",
        "Start of a prolonged (over 8 h) chemo infusion that needs a portable or implanted pump",
        "standalone",
        "chemo",
        "infusion",
        "1",
        "481",
        "",
        "false",
        "",
        "more than 8 h",
        "0335",
        "not an initial code and not an add-on: standalone by our rule",
    ),
    (
        "96417",
        "Chemo IV infusion of each further different drug in sequence, up to an hour",
        "add_on",
        "chemo",
        "infusion",
        "1",
        "16",
        "",
        "false",
        "96409|96413",
        "more than 15 min; once per sequential drug; its extra hours use 96415",
        "0335",
        ADMIN_PRIMARIES_NOTE,
    ),
    (
        "96521",
        "Refilling or maintaining a portable pump",
        "standalone",
        "pump",
        "other",
        "",
        "",
        "",
        "false",
        "",
        "",
        "0335",
        "revenue code [UNVERIFIED: practice varies]",
    ),
    (
        "96522",
        "Refilling or maintaining an implanted pump or reservoir for systemic drugs",
        "standalone",
        "pump",
        "other",
        "",
        "",
        "",
        "false",
        "",
        "",
        "0335",
        "revenue code [UNVERIFIED: practice varies]",
    ),
    (
        "96523",
        "Flushing an implanted venous access device",
        "standalone",
        "port",
        "other",
        "",
        "",
        "",
        "false",
        "",
        "only when no other service uses the device that day",
        "0260",
        "exact NCCI pairs [UNVERIFIED]; revenue code [UNVERIFIED: practice varies]",
    ),
    (
        "36591",
        "Drawing blood from an implanted venous access device",
        "standalone",
        "port",
        "other",
        "",
        "",
        "",
        "false",
        "",
        "only with lab tests, not with other services",
        "0300",
        "exact NCCI pairs [UNVERIFIED]; revenue code [UNVERIFIED: practice varies]",
    ),
    (
        "G0498",
        "Medicare: chemo IV infusion started in the office with an office-supplied pump and continued "
        "at home (instead of 96416; pump and supplies included)",
        "standalone",
        "chemo",
        "infusion",
        "1",
        "",
        "",
        "false",
        "",
        "",
        "0335",
        "G0498 descriptor details [UNVERIFIED]",
    ),
]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_table(
    name: str, header: Sequence[tuple[str, str]], columns: Sequence[str], rows: Iterable[Sequence[str]]
) -> None:
    buf = io.StringIO()
    for key, value in header:
        buf.write(f"# {key}: {value}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    (OUT / name).write_text(buf.getvalue(), encoding="utf-8")


def classify(code: str) -> str:
    for cls, codes in DRUG_CLASS.items():
        if code in codes:
            return cls
    raise SystemExit(f"{code}: no drug class; add it to DRUG_CLASS")


_UNIT = re.compile(r"^(\d+(?:\.\d+)?) (MG|MCG|UNITS|ML|CC)$")


def split_unit(text: str) -> tuple[str, str]:
    """'0.5 MG' -> ('0.5', 'MG'); '3 mg/1 mg' (nivolumab/relatlimab) -> ('3', 'MG')."""
    cleaned = text.strip().upper()
    if cleaned == "3 MG/1 MG":
        return "3", "MG"
    match = _UNIT.match(cleaned)
    if not match:
        raise SystemExit(f"cannot parse billing unit {text!r}")
    return match[1], match[2]


_MASS = {"mg": Decimal(1), "g": Decimal(1000), "mcg": Decimal(1)}
_AMOUNT = r"\d+(?:,\d{3})*(?:\.\d+)?"


def parse_vials(code: str, text: str, amount: Decimal, measure: str, xwalk_sizes: list[Decimal]) -> str:
    """Vial/package sizes in the billing measure, ``|``-separated, ascending."""
    if code in VIAL_OVERRIDES:
        return "|".join(VIAL_OVERRIDES[code])
    sizes: set[Decimal] = set()
    # "(180 units)", "(140 u)": billing units per package -> amount in the measure
    for m in re.finditer(rf"\(({_AMOUNT}) (?:units|u)\)", text):
        sizes.add(Decimal(m[1].replace(",", "")) * amount)
    if measure in ("MG", "MCG"):
        unit_words = {"MG": ("mg", "g"), "MCG": ("mcg",)}[measure]
    elif measure == "UNITS":
        unit_words = ("unit", "units")
    else:  # ML / CC: volumes
        unit_words = ("mL", "ml")
    words = "|".join(unit_words)
    # ranges "2,000-40,000 unit", "50-500 mg": fill from the crosswalk's package sizes inside the range
    for m in re.finditer(rf"({_AMOUNT})-({_AMOUNT}) ({words})\b", text):
        low = Decimal(m[1].replace(",", "")) * _MASS.get(m[3], Decimal(1))
        high = Decimal(m[2].replace(",", "")) * _MASS.get(m[3], Decimal(1))
        inside = [s for s in xwalk_sizes if low <= s <= high]
        sizes.update(inside or [low, high])
        text = text.replace(m[0], " ")
    # lists "50/150/450/600 mg", "10, 20, 50, 200 mg", single "100 mg" (not concentrations "10 mg/mL",
    # and not the volume after a slash "100 mg/4 mL")
    for m in re.finditer(rf"(?<![/\d.,])((?:{_AMOUNT}(?:/|, ))*{_AMOUNT}) ({words})\b(?!/mL)", text):
        factor = _MASS.get(m[2], Decimal(1))
        for part in re.split(r"/|, ", m[1]):
            sizes.add(Decimal(part.replace(",", "")) * factor)
    if not sizes:
        raise SystemExit(f"{code}: no vial sizes parsed from {text!r}; add a VIAL_OVERRIDES entry")
    return "|".join(_plain(s) for s in sorted(sizes))


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


_DX_CODE = re.compile(r"\b([A-Z]\d[0-9A-Z])(?:\.([0-9A-Z]+))?(?:-([A-Z]\d[0-9A-Z]))?")


def parse_dx(code: str, text: str, by_code: dict[str, str]) -> str:
    """ICD-10 prefixes (undotted, like claims carry them), ``|``-separated, in order of appearance."""
    for phrase, ref in DX_AS.items():
        if phrase in text:
            text = text.replace(phrase, by_code[ref])
    for word, codes in DX_WORDS.items():
        text = re.sub(rf"\b{word}\b", codes, text)
    out: list[str] = []
    for part in re.split(r"[,/;()+]|\s", text):
        for m in _DX_CODE.finditer(part):
            start, sub, end = m[1], m[2], m[3]
            if end:
                letter = start[0]
                lo, hi = int(start[1:]), int(end[1:])
                out.extend(f"{letter}{n:02d}" for n in range(lo, hi + 1))
            else:
                sub = (sub or "").rstrip("x")
                out.append(start + sub)
    seen: dict[str, None] = {}
    for prefix in out:
        if prefix not in DX_EXCLUDE.get(code, set()):
            seen.setdefault(prefix)
    return "|".join(seen)


def build_drugs(shared: Path) -> list[str]:
    drugs = read_csv(shared / "oncology_drugs.csv")
    xwalk = read_csv(shared / "cms" / "ndc_hcpcs_crosswalk_2026q1.csv")
    dx_by_code = {d["code"]: d["dx"] for d in drugs}
    rows = []
    for d in drugs:
        code = d["code"]
        amount, measure = split_unit(d["unit"])
        per_item = sorted(
            {
                Decimal(x["billing_units"]) * Decimal(amount)
                for x in xwalk
                if x["hcpcs"] == code and x["billing_units"]
            }
        )
        cls = classify(code)
        rows.append(
            [
                code,
                d["name"],
                d["unit"],
                amount,
                measure,
                cls,
                "true" if cls in COMPLEX_CLASSES else "false",
                "multiple_dose" if code in MULTIPLE_DOSE else "single_dose",
                CONTAINER_NOTES.get(code, ""),
                parse_vials(code, d["vials"], Decimal(amount), measure, per_item),
                d["vials"],
                ROUTES.get(code, "iv"),
                BIOSIMILAR_OF.get(code, ""),
                d["opps_si"],
                d["pa"],
                parse_dx(code, d["dx"], dx_by_code),
                d["dx"],
                d["dose"],
            ]
        )
    write_table(
        "drugs.csv",
        [
            (
                "source",
                "shared/data/oncology_drugs.csv (derived from CMS ASP files, ASP NDC-HCPCS crosswalk "
                "2026Q1 and CY2025 OPPS Addendum B, plus public label facts)",
            ),
            ("version", "2026Q1"),
            ("effective", "2026-01-01 to 2026-03-31 (billing units and OPPS SI as of the 2026Q1 files)"),
            (
                "notes",
                "built by scripts/build_reference_data.py; drug_class, complex_administration, routes, "
                "container and biosimilar_of are our classification; complex_administration = the drug "
                "is given with the chemo/complex-biologic codes 964xx (chemotherapy, immunotherapy, "
                "targeted, hormonal); container is multiple_dose only where the source says so; "
                "vial_sizes are in the billing measure (unit_measure), ranges filled from the crosswalk; "
                "icd10_families are undotted prefixes (C221 = C22.1), empty when the source names no family "
                "(supportive drugs given with any cancer diagnosis); dose_rule and dx are simulator "
                "defaults, not clinical rules; J9298 unit is 3 mg nivolumab + 1 mg relatlimab",
            ),
        ],
        [
            "code",
            "name",
            "billing_unit",
            "unit_amount",
            "unit_measure",
            "drug_class",
            "complex_administration",
            "container",
            "container_note",
            "vial_sizes",
            "vials_text",
            "routes",
            "biosimilar_of",
            "opps_si",
            "prior_auth",
            "icd10_families",
            "dx_text",
            "dose_rule",
        ],
        rows,
    )
    return [d["code"] for d in drugs]


def build_payment_limits(shared: Path, codes: list[str]) -> None:
    rows = []
    for quarter, (stem, start, end) in QUARTERS.items():
        published = {r["hcpcs"]: r for r in read_csv(shared / "cms" / f"{stem}.csv")}
        for code in codes:
            r = published.get(code)
            if r is None:
                rows.append([code, quarter, start, end, "", "", "", "not in this quarter's CMS file"])
            else:
                rows.append(
                    [
                        code,
                        quarter,
                        start,
                        end,
                        r["billing_unit"],
                        r["payment_limit"],
                        r["coinsurance_pct"],
                        r["notes"],
                    ]
                )
    rows.sort(key=lambda r: (r[0], r[1]))
    write_table(
        "payment_limits.csv",
        [
            (
                "source",
                "CMS Medicare Part B payment limit (ASP) files for January 2024, October 2024, "
                "October 2025 and January 2026, via QuicksortRx/universal-med-ids "
                "(src/medicare_part_b/data), trimmed in shared/data/cms",
            ),
            ("version", "2024Q1, 2024Q4, 2025Q4, 2026Q1"),
            ("effective", "per row (effective_from, effective_to: the calendar quarter of the file)"),
            (
                "notes",
                "payment_limit is dollars per billing unit as published (ASP+6%, or the biosimilar/AMP "
                "variant the note names); an empty limit means the code is not in that quarter's file; "
                "billing_unit is the file's dosage descriptor",
            ),
        ],
        [
            "code",
            "quarter",
            "effective_from",
            "effective_to",
            "billing_unit",
            "payment_limit",
            "coinsurance_pct",
            "note",
        ],
        rows,
    )


def build_ndc_crosswalk(shared: Path, codes: list[str]) -> None:
    keep = set(codes)
    rows = []
    for r in read_csv(shared / "cms" / "ndc_hcpcs_crosswalk_2026q1.csv"):
        if r["hcpcs"] not in keep:
            continue
        labeler_part, product, package = r["ndc"].split("-")
        # 5-4-2 without hyphens (the HIPAA 11-digit form reported in 837 LIN03)
        ndc = labeler_part.zfill(5) + product.zfill(4) + package.zfill(2)
        rows.append(
            [
                ndc,
                r["hcpcs"],
                r["labeler"],
                r["drug_name"],
                r["billing_unit"],
                r["package_size"],
                r["package_quantity"],
                r["billing_units"],
                r["billing_units_per_package"],
            ]
        )
    rows.sort(key=lambda r: (r[1], r[0]))
    write_table(
        "ndc_crosswalk.csv",
        [
            (
                "source",
                "CMS January 2026 ASP NDC-HCPCS crosswalk, via QuicksortRx/universal-med-ids, trimmed in "
                "shared/data/cms/ndc_hcpcs_crosswalk_2026q1.csv; only the HCPCS codes of drugs.csv",
            ),
            ("version", "2026Q1"),
            ("effective", "2026-01-01 to 2026-03-31"),
            (
                "notes",
                "ndc normalised to 11 digits (5-4-2, no hyphens); package_size, package_quantity, "
                "billing_units (per item) and billing_units_per_package as published",
            ),
        ],
        [
            "ndc",
            "hcpcs",
            "labeler",
            "drug_name",
            "billing_unit",
            "package_size",
            "package_quantity",
            "billing_units_per_item",
            "billing_units_per_package",
        ],
        rows,
    )


def build_admin_codes(shared: Path) -> None:
    opps = {r["hcpcs"]: r for r in read_csv(shared / "cms" / "opps_addendum_b_2025_subset.csv")}
    rows = []
    for entry in ADMIN:
        code = entry[0]
        o = opps.get(code, {})
        rows.append(
            [
                *entry[:10],
                o.get("status_indicator", ""),
                o.get("apc", ""),
                o.get("payment_rate", ""),
                *entry[10:],
            ]
        )
    write_table(
        "admin_codes.csv",
        [
            (
                "source",
                "oncology-billing.md 2.1-2.2 (descriptions in our own words; CPT descriptors are "
                "licensed and not copied); OPPS SI/APC/national rate from CMS CY2025 OPPS Addendum B "
                "(October 2025 release) via shared/data/cms/opps_addendum_b_2025_subset.csv",
            ),
            ("version", "CY2025 OPPS; oncology-billing.md as of 2026Q1"),
            ("effective", "2025-01-01 to 2025-12-31 (OPPS values)"),
            (
                "notes",
                "role rule: initial = the five initial IV codes 96360/96365/96374/96409/96413; add_on = "
                "additional-hour, sequential and additional-push codes; concurrent = 96368; standalone = "
                "everything else (SC/IM injections, on-body injector, pumps, port services, 96416 and "
                "G0498). hierarchy_rank: 1 chemo infusion, 2 chemo push, 3 therapeutic infusion, "
                "4 therapeutic push, 5 hydration; empty where the hierarchy does not apply. min_minutes "
                "is inclusive and, for additional-hour codes, counts minutes beyond the last full hour. "
                "revenue_code is the usual 837I revenue code (oncology-billing.md 8.1) where stated; "
                "others are marked UNVERIFIED. opps_rate is the national unadjusted payment in dollars",
            ),
        ],
        [
            "code",
            "description",
            "role",
            "category",
            "method",
            "hierarchy_rank",
            "min_minutes",
            "max_minutes",
            "is_additional_hour",
            "allowed_primaries",
            "opps_si",
            "opps_apc",
            "opps_rate",
            "time_rule",
            "revenue_code",
            "notes",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    codes = build_drugs(args.shared)
    build_payment_limits(args.shared, codes)
    build_ndc_crosswalk(args.shared, codes)
    build_admin_codes(args.shared)


if __name__ == "__main__":
    main()
