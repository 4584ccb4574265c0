"""Reference tables: the facts the audit rules and the simulator rely on, and the file format's guarantees."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import subprocess
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

import claims.reference as ref
from claims.enums import AdminRole, ContainerType, DenialCategory, DrugClass
from claims.reference import (
    MeasureUnit,
    ReferenceDataError,
    Route,
    denial_category,
    hcpcs_for_ndc,
    load_admin_codes,
    load_bill_types,
    load_carcs,
    load_drugs,
    load_modifiers,
    load_ndc_crosswalk,
    load_places_of_service,
    load_rarcs,
    load_revenue_codes,
    ndcs_for_hcpcs,
    payment_limit,
    payment_limit_is_published,
    read_table,
)
from claims.reference.drugs import read_drugs

DATA_DIR = Path(str(files("claims.reference").joinpath("data")))
SHARED_CMS = Path(__file__).resolve().parents[3] / "shared" / "data" / "cms"

Q2024Q4 = dt.date(2024, 11, 15)
Q2025Q2 = dt.date(2025, 5, 15)
Q2025Q4 = dt.date(2025, 11, 15)
Q2026Q1 = dt.date(2026, 2, 15)


# --- drugs ----------------------------------------------------------------------------------------


def test_pembrolizumab_facts() -> None:
    drug = load_drugs()["J9271"]
    assert (drug.billing_unit.amount, drug.billing_unit.unit) == (Decimal(1), MeasureUnit.MG)
    assert drug.container is ContainerType.SINGLE_DOSE
    assert drug.needs_waste_modifier
    assert drug.drug_class is DrugClass.IMMUNOTHERAPY
    assert drug.complex_administration
    assert drug.vial_sizes == (Decimal(100),)
    assert drug.routes == (Route.IV,)
    assert {"C34", "C43", "C50"} <= set(drug.icd10_families)


def test_pembrolizumab_2026q1_limit_is_the_published_value() -> None:
    # CMS January 2026 payment limit file: J9271 1 MG 59.726
    assert payment_limit("J9271", Q2026Q1) == Decimal("59.726")
    assert payment_limit_is_published("J9271", Q2026Q1)


def test_200_mg_pembrolizumab_costs_about_12000_dollars() -> None:
    drug = load_drugs()["J9271"]
    units = drug.billing_unit.units_for(Decimal(200))
    limit = payment_limit("J9271", Q2026Q1)
    assert units == 200 and limit is not None
    assert Decimal(11_500) < units * limit < Decimal(12_500)


def test_pegfilgrastim_unit_is_half_a_milligram() -> None:
    drug = load_drugs()["J2506"]
    assert (drug.billing_unit.amount, drug.billing_unit.unit) == (Decimal("0.5"), MeasureUnit.MG)
    assert drug.billing_unit.units_for(Decimal(6)) == 12
    assert drug.drug_class is DrugClass.GROWTH_FACTOR
    assert not drug.complex_administration


def test_carboplatin_is_multiple_dose_and_takes_no_waste_modifier() -> None:
    drug = load_drugs()["J9045"]
    assert drug.container is ContainerType.MULTIPLE_DOSE
    assert not drug.needs_waste_modifier
    assert drug.vial_sizes == tuple(Decimal(v) for v in (50, 150, 450, 600))


def test_paclitaxel_and_etoposide_are_multiple_dose() -> None:
    drugs = load_drugs()
    assert drugs["J9267"].container is ContainerType.MULTIPLE_DOSE
    assert drugs["J9181"].container is ContainerType.MULTIPLE_DOSE


def test_vial_sizes_are_in_the_billing_measure() -> None:
    drugs = load_drugs()
    assert drugs["J9305"].vial_sizes == (Decimal(100), Decimal(500), Decimal(1000))
    assert drugs["J9316"].vial_sizes == (Decimal(1200), Decimal(1800))  # 120 and 180 units of 10 mg
    assert drugs["J2469"].vial_sizes == (Decimal(250),)  # 0.25 mg in MCG
    assert drugs["J7050"].billing_unit.unit is MeasureUnit.CC
    for drug in drugs.values():
        assert drug.vial_sizes, drug.code
        assert list(drug.vial_sizes) == sorted(drug.vial_sizes), drug.code


def test_drug_table_covers_about_100_codes_in_every_class() -> None:
    drugs = load_drugs()
    assert len(drugs) >= 100
    assert {d.drug_class for d in drugs.values()} == set(DrugClass)


def test_complex_administration_follows_the_drug_class() -> None:
    complex_classes = {
        DrugClass.CHEMOTHERAPY,
        DrugClass.IMMUNOTHERAPY,
        DrugClass.TARGETED,
        DrugClass.HORMONAL,
    }
    for drug in load_drugs().values():
        assert drug.complex_administration == (drug.drug_class in complex_classes), drug.code


def test_biosimilars_name_a_reference_product_of_the_same_class() -> None:
    drugs = load_drugs()
    biosimilars = [d for d in drugs.values() if d.is_biosimilar]
    assert {d.code for d in biosimilars} >= {"Q5107", "Q5112", "Q5115", "Q5108", "Q5101", "Q5106", "Q5136"}
    for drug in biosimilars:
        assert drug.biosimilar_of is not None
        reference = drugs[drug.biosimilar_of]
        assert not reference.is_biosimilar
        assert reference.drug_class is drug.drug_class
        assert reference.billing_unit == drug.billing_unit
    assert drugs["Q5107"].biosimilar_of == "J9035"
    assert drugs["J9271"].biosimilar_of is None


def test_icd10_families_are_undotted_prefixes() -> None:
    for drug in load_drugs().values():
        for prefix in drug.icd10_families:
            assert "." not in prefix and prefix[0].isalpha() and prefix[1].isdigit(), (drug.code, prefix)
            assert prefix[2:].isalnum() and 3 <= len(prefix) <= 7, (drug.code, prefix)
    assert "C221" in load_drugs()["J9201"].icd10_families  # "C22.1" biliary


def test_drugs_are_frozen_and_the_table_is_read_only() -> None:
    drugs = load_drugs()
    with pytest.raises(dataclasses.FrozenInstanceError):
        drugs["J9271"].code = "J9999"  # type: ignore[misc]
    with pytest.raises(TypeError):
        drugs["J0000"] = drugs["J9271"]  # type: ignore[index]


# --- payment limits -------------------------------------------------------------------------------


def test_every_drug_has_a_payment_limit_in_some_quarter() -> None:
    for drug in load_drugs().values():
        assert drug.payment_limits, drug.code
        assert all(p.payment_limit is not None and p.payment_limit > 0 for p in drug.payment_limits)


def test_codes_absent_from_a_quarter_have_no_limit_there() -> None:
    # Q5136 (denosumab-bbdz) was added in January 2026
    quarters = {p.quarter: p.payment_limit for p in ref.load_payment_limits()["Q5136"]}
    assert quarters["2026Q1"] is not None
    assert quarters["2024Q1"] is None and quarters["2025Q4"] is None
    assert not payment_limit_is_published("Q5136", Q2025Q4)


def test_interpolation_between_2024q4_and_2025q4_lies_between_them() -> None:
    low, high = payment_limit("J9271", Q2024Q4), payment_limit("J9271", Q2025Q4)
    mid = payment_limit("J9271", Q2025Q2)
    assert low is not None and high is not None and mid is not None
    assert min(low, high) <= mid <= max(low, high)
    # 2025Q2 is halfway (2 of 4 quarters) between them
    assert mid == ((low + high) / 2).quantize(Decimal("0.001"))
    assert not payment_limit_is_published("J9271", Q2025Q2)


def test_outside_the_published_span_the_nearest_quarter_applies() -> None:
    first = payment_limit("J9271", dt.date(2024, 2, 1))
    last = payment_limit("J9271", Q2026Q1)
    assert payment_limit("J9271", dt.date(2020, 6, 1)) == first
    assert payment_limit("J9271", dt.date(2030, 6, 1)) == last
    assert not payment_limit_is_published("J9271", dt.date(2030, 6, 1))


def test_unknown_code_has_no_payment_limit() -> None:
    assert payment_limit("J0000", Q2026Q1) is None
    assert not payment_limit_is_published("J0000", Q2026Q1)


@pytest.mark.skipif(not SHARED_CMS.is_dir(), reason="the shared CMS extracts are not on this machine")
def test_payment_limits_match_the_cms_files_exactly() -> None:
    stems = {"2024Q1": "2024q1", "2024Q4": "2024q4", "2025Q4": "2025q4", "2026Q1": "2026q1"}
    for quarter, stem in stems.items():
        with (SHARED_CMS / f"asp_payment_limits_{stem}.csv").open(newline="") as f:
            published = {r["hcpcs"]: r["payment_limit"] for r in csv.DictReader(f)}
        for code, limits in ref.load_payment_limits().items():
            ours = next(p.payment_limit for p in limits if p.quarter == quarter)
            expected = published.get(code)
            assert ours == (Decimal(expected) if expected else None), (code, quarter)


# --- NDC crosswalk --------------------------------------------------------------------------------


def test_ndc_crosswalk_maps_keytruda_and_normalises_ndcs() -> None:
    assert hcpcs_for_ndc("00006-3026-02") == "J9271"
    assert hcpcs_for_ndc("00006302602") == "J9271"
    assert hcpcs_for_ndc("not-an-ndc") is None
    packages = ndcs_for_hcpcs("J9271")
    assert packages and all(p.hcpcs == "J9271" for p in packages)
    assert any(p.billing_units_per_item == 100 for p in packages)


def test_crosswalk_holds_only_drug_table_codes_in_11_digit_form() -> None:
    drugs = load_drugs()
    crosswalk = load_ndc_crosswalk()
    assert len(crosswalk) > 500
    for ndc, package in crosswalk.items():
        assert len(ndc) == 11 and ndc.isdigit()
        assert package.hcpcs in drugs
    assert {p.hcpcs for p in crosswalk.values()} == set(drugs)


# --- administration codes -------------------------------------------------------------------------


def test_admin_table_has_the_oncology_codes() -> None:
    expected = set(
        [
            "96360",
            "96361",
            "96365",
            "96366",
            "96367",
            "96368",
            "96372",
            "96374",
            "96375",
            "96376",
            "96377",
            "96401",
            "96402",
            "96409",
            "96411",
            "96413",
            "96415",
            "96416",
            "96417",
            "96521",
            "96522",
            "96523",
            "36591",
            "G0498",
        ]
    )
    assert set(load_admin_codes()) == expected


def test_add_on_codes_list_primaries_that_are_in_the_table() -> None:
    admin = load_admin_codes()
    for item in admin.values():
        if item.role in (AdminRole.ADD_ON, AdminRole.CONCURRENT):
            assert item.allowed_primaries, item.code
            assert "UNVERIFIED" in item.notes, item.code
        else:
            assert not item.allowed_primaries, item.code
        for primary in item.allowed_primaries:
            assert primary in admin, (item.code, primary)
    assert admin["96417"].allowed_primaries == ("96409", "96413")


def test_admin_roles_and_hierarchy() -> None:
    admin = load_admin_codes()
    initial = {c for c, a in admin.items() if a.role is AdminRole.INITIAL}
    assert initial == {"96360", "96365", "96374", "96409", "96413"}
    assert admin["96368"].role is AdminRole.CONCURRENT
    ranks = [admin[c].hierarchy_rank for c in ("96413", "96409", "96365", "96374", "96360")]
    assert ranks == [1, 2, 3, 4, 5]
    for code in ("96372", "96401", "96402"):  # hierarchy does not apply to SC/IM injections
        assert admin[code].hierarchy_rank is None


def test_admin_time_thresholds_and_opps_values() -> None:
    admin = load_admin_codes()
    assert admin["96413"].min_minutes == 16
    assert admin["96415"].is_additional_hour and admin["96415"].min_minutes == 31
    assert admin["96360"].min_minutes == 31
    assert admin["96409"].max_minutes == 15
    assert (admin["96413"].opps_status, admin["96413"].opps_apc) == ("S", "5694")
    assert admin["96413"].opps_rate == Decimal("331.690")
    assert admin["96368"].opps_status == "N" and admin["96368"].opps_rate is None
    assert admin["96413"].revenue_code == "0335" and admin["96401"].revenue_code == "0331"
    assert all(a.revenue_code in load_revenue_codes() for a in admin.values())


# --- modifiers ------------------------------------------------------------------------------------


def test_jz_dates() -> None:
    jz = load_modifiers()["JZ"]
    assert jz.required_from == dt.date(2023, 7, 1)
    assert jz.enforced_from == dt.date(2023, 10, 1)
    assert not jz.is_required_on(dt.date(2023, 6, 30))
    assert jz.is_required_on(dt.date(2023, 7, 1))


def test_mutually_exclusive_modifier_groups() -> None:
    groups = ref.exclusive_modifier_groups()
    assert groups["waste"] == {"JW", "JZ"}
    assert groups["liability"] == {"GA", "GZ", "GY"}
    assert groups["distinct_service"] == {"59", "XE", "XS", "XP", "XU"}
    assert groups["esa_indication"] == {"EA", "EB", "EC"}
    expected = [
        "JW",
        "JZ",
        "25",
        "59",
        "XE",
        "XS",
        "XP",
        "XU",
        "Q0",
        "Q1",
        "KX",
        "GA",
        "GZ",
        "GX",
        "GY",
        "JG",
        "TB",
        "JA",
        "JB",
        "EA",
        "EB",
        "EC",
        "76",
        "77",
    ]
    assert set(load_modifiers()) == set(expected)


# --- CARC / RARC ----------------------------------------------------------------------------------


def test_every_carc_category_is_a_denial_category() -> None:
    table = read_table(DATA_DIR / "carc.csv")
    valid = {c.value for c in DenialCategory}
    for row in table:
        value = row.optional_text("category")
        assert value == "" or value in valid, row.cells
    carcs = load_carcs()
    section_5_2 = [
        "4",
        "5",
        "11",
        "15",
        "16",
        "18",
        "22",
        "27",
        "29",
        "45",
        "50",
        "55",
        "56",
        "96",
        "97",
        "107",
        "109",
        "114",
        "119",
        "146",
        "150",
        "151",
        "167",
        "181",
        "182",
        "183",
        "197",
        "198",
        "204",
        "226",
        "236",
        "252",
        "253",
        "256",
        "284",
        "296",
        "B7",
        "B15",
        "1",
        "2",
        "3",
        "23",
        "94",
    ]
    assert set(section_5_2) <= set(carcs)


def test_carc_categories_that_matter() -> None:
    carcs = load_carcs()
    assert carcs["197"].category is DenialCategory.AUTHORIZATION
    assert carcs["151"].category is DenialCategory.UNITS_MUE
    assert carcs["97"].category is DenialCategory.BUNDLING and carcs["97"].refine_by_rarc
    assert carcs["18"].category is DenialCategory.DUPLICATE
    assert carcs["29"].category is DenialCategory.TIMELY_FILING
    for code in ("1", "2", "3", "23", "45", "94", "253"):
        assert carcs[code].category is None and not carcs[code].is_denial
    assert "UNVERIFIED" in carcs["15"].notes


def test_rarc_hints_refine_generic_carcs() -> None:
    rarcs = load_rarcs()
    assert rarcs["N362"].category_hint is DenialCategory.UNITS_MUE
    assert rarcs["N122"].category_hint is DenialCategory.BUNDLING
    assert denial_category("96", ("N362",)) is DenialCategory.UNITS_MUE
    assert denial_category("16", ("M119",)) is DenialCategory.CODING_MODIFIER
    assert denial_category("197", ("N362",)) is DenialCategory.AUTHORIZATION  # specific CARC wins
    assert denial_category("45") is None
    assert denial_category("999") is DenialCategory.OTHER


# --- small code sets ------------------------------------------------------------------------------


def test_places_bill_types_and_revenue_codes() -> None:
    pos = load_places_of_service()
    assert {"11", "12", "19", "22", "49"} <= set(pos)
    assert not pos["11"].facility_rate and pos["22"].facility_rate
    bill_types = load_bill_types()
    assert {"0131", "0137", "0138", "0851"} <= set(bill_types)
    assert bill_types["0137"].frequency == "7"
    assert {"0250", "0260", "0331", "0335", "0510", "0636", "0761"} <= set(load_revenue_codes())


# --- file format ----------------------------------------------------------------------------------


def test_every_data_file_has_a_provenance_header() -> None:
    on_disk = {p.name for p in DATA_DIR.glob("*.csv")}
    assert on_disk == set(ref.DATA_FILES)
    for name in ref.DATA_FILES:
        lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
        keys = {line[2:].split(":")[0] for line in lines if line.startswith("# ")}
        assert {"source", "version", "effective"} <= keys, name
        provenance = ref.provenance_of(name)
        assert provenance.source and provenance.version, name
        assert provenance.effective_from or provenance.effective_text.startswith("per row"), name


_GOOD_HEADER = "# source: test\n# version: 1\n# effective: 2026-01-01 to 2026-03-31\n# notes: a note\n"


def test_reader_parses_provenance_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text(_GOOD_HEADER + 'code,name\nA,"x, y"\n\nB,z\n', encoding="utf-8")
    table = read_table(path)
    assert table.provenance.effective_from == dt.date(2026, 1, 1)
    assert table.provenance.effective_to == dt.date(2026, 3, 31)
    assert table.provenance.notes == "a note"
    assert [r.cells["name"] for r in table] == ["x, y", "z"]
    assert [(r.number, r.line) for r in table] == [(1, 6), (2, 8)]


def test_malformed_row_error_names_file_row_and_column(tmp_path: Path) -> None:
    good = (DATA_DIR / "drugs.csv").read_text(encoding="utf-8").splitlines()
    header_at = next(i for i, line in enumerate(good) if not line.startswith("#"))
    rows = list(csv.reader(good[header_at:]))
    rows[3][rows[0].index("unit_amount")] = "half"  # data row 3
    path = tmp_path / "drugs_bad.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write("\n".join(good[:header_at]) + "\n")
        csv.writer(f, lineterminator="\n").writerows(rows)
    with pytest.raises(ReferenceDataError) as caught:
        read_drugs(path)
    error = caught.value
    assert (error.source, error.row, error.line, error.column) == (
        "drugs_bad.csv",
        3,
        header_at + 4,
        "unit_amount",
    )
    assert "drugs_bad.csv" in str(error) and "row 3" in str(error) and "'unit_amount'" in str(error)
    assert "'half'" in str(error)


def test_bad_enum_value_names_the_allowed_values(tmp_path: Path) -> None:
    path = tmp_path / "carc.csv"
    text = (DATA_DIR / "carc.csv").read_text(encoding="utf-8").replace(",CO,duplicate,", ",CO,dupes,", 1)
    text = text.replace(",OA|CO,duplicate,", ",OA|CO,dupes,", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ReferenceDataError, match=r"carc\.csv, row \d+ \(line \d+\), column 'category'.*duplicate"
    ):
        ref.denial_codes.read_carcs(path)


def test_wrong_cell_count_and_missing_provenance_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(_GOOD_HEADER + "code,name\nA,x\nB\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"short\.csv, row 2 \(line 7\).*expected 2 cells"):
        read_table(path)
    path.write_text("# source: test\ncode,name\nA,x\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"lacks \['version', 'effective'\]"):
        read_table(path)
    path.write_text("# source: s\n# version: 1\n# effective: last year\ncode\nA\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="effective"):
        read_table(path)
    with pytest.raises(ReferenceDataError, match="file not found"):
        read_table(tmp_path / "absent.csv")


def test_unknown_column_is_reported_with_the_header(tmp_path: Path) -> None:
    path = tmp_path / "modifiers.csv"
    text = (
        (DATA_DIR / "modifiers.csv").read_text(encoding="utf-8").replace(",required_from,", ",req_from,", 1)
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"missing column\(s\) \['required_from'\]"):
        ref.modifiers.read_modifiers(path)


# --- package hygiene ------------------------------------------------------------------------------


def test_import_reads_no_files() -> None:
    code = (
        "import claims.reference as r\n"
        "fns = [getattr(r, n) for n in r.__all__ if n.startswith('load_')]\n"
        "assert fns and all(f.cache_info().currsize == 0 for f in fns), 'a table was loaded at import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_are_exported() -> None:
    for name in ref.__all__:
        assert getattr(ref, name) is not None, name
    assert sorted(ref.__all__) == sorted(set(ref.__all__))


def test_jz_dates_in_code_match_the_modifier_table() -> None:
    from claims.reference.modifiers import JZ_REQUIRED_FROM, MEDICARE_JW_JZ_ENFORCED_FROM

    jz = ref.load_modifiers()["JZ"]
    assert (jz.required_from, jz.enforced_from) == (JZ_REQUIRED_FROM, MEDICARE_JW_JZ_ENFORCED_FROM)


def test_a_code_listed_twice_is_an_error_naming_its_row(tmp_path: Path) -> None:
    lines = (DATA_DIR / "modifiers.csv").read_text(encoding="utf-8").splitlines()
    jz = next(line for line in lines if line.startswith("JZ,"))
    path = tmp_path / "modifiers.csv"
    path.write_text("\n".join([*lines, jz]) + "\n", encoding="utf-8")
    with pytest.raises(
        ReferenceDataError,
        match=r"modifiers\.csv, row \d+ \(line \d+\), column 'code'.*duplicate modifier JZ",
    ):
        ref.modifiers.read_modifiers(path)
