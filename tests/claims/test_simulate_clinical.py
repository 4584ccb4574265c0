"""The simulator's clinical content: the packaged cancers, regimens and premedications, and their loaders."""

from __future__ import annotations

import doctest
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pydantic
import pytest

from claims.codes import icd10_status
from claims.enums import DrugClass
from claims.reference import load_drugs
from claims.simulate import clinical
from claims.simulate.clinical import (
    Cancer,
    ClinicalDataError,
    DoseRule,
    DrugAdministration,
    Regimen,
    load_cancers,
    load_premedications,
    load_regimens,
    read_cancers,
    read_premedications,
    read_regimens,
)

ANTINEOPLASTIC = {DrugClass.CHEMOTHERAPY, DrugClass.IMMUNOTHERAPY, DrugClass.TARGETED}


def _all_administrations() -> list[tuple[str, DrugAdministration]]:
    given = [
        (f"{r.id} day {day.day}", d) for r in load_regimens().values() for day in r.days for d in day.drugs
    ]
    given += [(f"premedication {b.key}", d) for b in load_premedications().values() for d in b.drugs]
    return given


# --- the packaged case mix ------------------------------------------------------------------------


def test_there_are_enough_cancers_and_regimens() -> None:
    assert len(load_regimens()) >= 15
    assert len(load_cancers()) >= 11
    for key in ("breast", "colorectal", "dlbcl", "myeloma", "prostate", "ovarian", "pancreatic"):
        assert key in load_cancers()
    for key in ("head_and_neck", "melanoma", "bladder", "lung_nsclc_nonsquamous", "lung_nsclc_squamous"):
        assert key in load_cancers()


def test_shares_and_weights_sum_to_one() -> None:
    cancers = load_cancers().values()
    assert math.fsum(c.share for c in cancers) == pytest.approx(1, abs=1e-9)
    for cancer in cancers:
        assert math.fsum(w for _, w in cancer.icd10) == pytest.approx(1, abs=1e-9), cancer.key
        assert math.fsum(w for _, w in cancer.regimens) == pytest.approx(1, abs=1e-9), cancer.key


def test_every_diagnosis_is_a_billable_dotted_icd10_cm_code() -> None:
    for cancer in load_cancers().values():
        for code, _ in cancer.icd10:
            assert icd10_status(code) == "billable", (cancer.key, code)  # the package's tree (cached)
            assert len(code) == 3 or code[3] == ".", (cancer.key, code)


def test_sex_restrictions() -> None:
    cancers = load_cancers()
    assert cancers["prostate"].sex == "M"
    assert cancers["ovarian"].sex == "F"
    breast = cancers["breast"]
    assert breast.sex is None
    assert [c for c, _ in breast.icd10_for("M")] == ["C50.921"]  # male breast
    female = breast.icd10_for("F")
    assert "C50.921" not in dict(female)
    assert math.fsum(w for _, w in female) == pytest.approx(1)
    assert breast.male_fraction == pytest.approx(0.01)
    assert cancers["prostate"].male_fraction == 1 and cancers["ovarian"].male_fraction == 0
    assert cancers["bladder"].male_fraction > 0.7  # urothelial cancer is about 3:1 male
    for cancer in cancers.values():
        for sex in ("F", "M"):
            fraction = cancer.male_fraction if sex == "M" else 1 - cancer.male_fraction
            assert not fraction or cancer.icd10_for(sex), (cancer.key, sex)  # every drawn patient has a code


def test_regimens_named_by_cancers_exist_and_every_regimen_is_used() -> None:
    regimens = load_regimens()
    used = {rid for c in load_cancers().values() for rid, _ in c.regimens}
    assert used <= set(regimens)
    assert set(regimens) <= used


def test_followed_by_chains_to_existing_regimens() -> None:
    regimens = load_regimens()
    assert regimens["ac"].followed_by == "paclitaxel_weekly"
    assert regimens["ipi_nivo"].followed_by == "nivolumab_mono"
    for regimen in regimens.values():
        assert regimen.followed_by is None or regimen.followed_by in regimens


def test_every_drug_code_is_in_the_drug_table_and_fits_the_route() -> None:
    drugs = load_drugs()
    route_family = {"iv_infusion": "iv", "iv_push": "iv", "sc": "sc", "im": "im"}
    for where, given in _all_administrations():
        assert given.code in drugs, (where, given.code)
        assert route_family[given.route] in drugs[given.code].routes, (where, given.code)


def test_premedication_keys_exist_and_bundles_hold_no_chemotherapy() -> None:
    bundles = load_premedications()
    for key in (
        "high_emetic",
        "moderate_emetic",
        "low_emetic",
        "taxane_hypersensitivity",
        "anti_cd20_infusion",
    ):
        assert key in bundles
    for regimen in load_regimens().values():
        for day in regimen.days:
            assert day.premedications is None or day.premedications in bundles, (regimen.id, day.day)
    drugs = load_drugs()
    for bundle in bundles.values():
        assert not any(drugs[d.code].complex_administration for d in bundle.drugs), bundle.key


def test_required_premedication_bundles_have_the_agreed_drugs() -> None:
    bundles = load_premedications()
    high = [(d.code, d.route, d.minutes, d.dose.value) for d in bundles["high_emetic"].drugs]
    assert high == [
        ("J1100", "iv_push", 5, Decimal(12)),  # dexamethasone 12 mg
        ("J2469", "iv_push", 1, Decimal(250)),  # palonosetron 0.25 mg = 250 mcg (10 units of 25 mcg)
        ("J1453", "iv_infusion", 30, Decimal(150)),  # fosaprepitant 150 mg over 30 min
    ]
    assert [d.code for d in bundles["taxane_hypersensitivity"].drugs] == ["J1100", "J1200"]
    assert [(d.code, d.route) for d in bundles["anti_cd20_infusion"].drugs] == [("J1200", "iv_push")]


def test_pushes_last_at_most_15_minutes_and_infusions_longer() -> None:
    for where, given in _all_administrations():
        for minutes in (given.minutes, given.first_cycle_minutes):
            if minutes is None:
                continue
            if given.route == "iv_push":
                assert 1 <= minutes <= 15, where
            elif given.route == "iv_infusion":
                assert minutes > 15, where
            else:
                assert minutes == 0, where


def test_concurrent_infusions_name_a_drug_given_the_same_day() -> None:
    seen = 0
    for regimen in load_regimens().values():
        for day in regimen.days:
            codes = [d.code for d in day.drugs]
            for given in day.drugs:
                if given.concurrent_with is not None:
                    seen += 1
                    assert given.concurrent_with in codes and given.concurrent_with != given.code
    assert seen >= 2


def test_nsclc_regimen_reproduces_the_worked_example() -> None:
    """oncology-billing.md 2.4: pembrolizumab 30 min, pemetrexed 10 min (push), carboplatin 30 min."""
    regimen = load_regimens()["carbo_pem_pembro"]
    assert regimen.cycle_days == 21
    assert not regimen.immunotherapy_only
    (day,) = regimen.days
    assert day.day == 1 and day.visit
    assert [(d.code, d.route, d.minutes) for d in day.drugs] == [
        ("J9271", "iv_infusion", 30),
        ("J9305", "iv_push", 10),
        ("J9045", "iv_infusion", 30),
    ]
    assert [d.dose.kind for d in day.drugs] == ["flat", "bsa", "auc"]
    assert day.premedications == "high_emetic"
    premeds = load_premedications()["high_emetic"].drugs
    assert {d.code for d in premeds if d.route == "iv_push"} == {"J1100", "J2469"}
    assert [(d.code, d.minutes) for d in premeds if d.route == "iv_infusion"] == [("J1453", 30)]
    assert "C34" in {code[:3] for code, _ in load_cancers()["lung_nsclc_nonsquamous"].icd10}


def test_folfox_bevacizumab_reproduces_the_worked_example() -> None:
    regimen = load_regimens()["folfox_bev"]
    assert regimen.cycle_days == 14
    (day,) = regimen.days
    rows = [(d.code, d.route, d.minutes, d.pump_hours, d.concurrent_with) for d in day.drugs]
    assert rows == [
        ("J9263", "iv_infusion", 120, None, None),  # oxaliplatin 2 h: 96413 + 96415
        ("J0640", "iv_infusion", 120, None, "J9263"),  # leucovorin concurrent: 96368
        ("J9035", "iv_infusion", 30, None, None),  # bevacizumab: 96417
        ("J9190", "iv_push", 5, None, None),  # 5-FU bolus: 96411
        ("J9190", "iv_infusion", 46 * 60, 46, None),  # 46-h pump: 96416 / G0498
    ]
    assert set(regimen.biosimilar_substitutes["J9035"]) == {"Q5107", "Q5118", "Q5126", "Q5129"}


def test_named_regimens_have_their_defining_schedules() -> None:
    regimens = load_regimens()
    assert [d.day for d in regimens["gem_nabpac"].days] == [1, 8, 15]
    assert regimens["gem_nabpac"].cycle_days == 28
    aza = regimens["azacitidine"]
    assert [d.day for d in aza.days] == list(range(1, 8)) and aza.cycle_days == 28
    assert all(g.route == "sc" and g.code == "J9025" for day in aza.days for g in day.drugs)
    vincristine = next(d for d in regimens["r_chop"].days[0].drugs if d.code == "J9370")
    assert vincristine.route == "iv_push" and vincristine.dose.cap == Decimal(2)
    assert "J9075" in regimens["r_chop"].codes() and "J9075" in regimens["ac"].codes()
    dara = regimens["dara_vd"]
    assert {(g.code, g.route) for day in dara.days for g in day.drugs} == {("J9144", "sc"), ("J9041", "sc")}
    for rid in ("cisplatin_rt_q21", "cisplatin_rt_weekly", "gem_cis"):
        cisplatin_days = [d for d in regimens[rid].days if any(g.code == "J9060" for g in d.drugs)]
        assert cisplatin_days and all(d.hydration_minutes > 60 for d in cisplatin_days), rid
    for rid in ("nivolumab_mono", "pembrolizumab_mono", "ipi_nivo"):
        assert regimens[rid].immunotherapy_only, rid
    assert set(regimens["tchp"].codes()) == {"J9171", "J9045", "J9355", "J9306"}


def test_immunotherapy_only_matches_the_drug_classes() -> None:
    drugs = load_drugs()
    for regimen in load_regimens().values():
        classes = {drugs[code].drug_class for code in regimen.codes()}
        assert regimen.immunotherapy_only == (classes == {DrugClass.IMMUNOTHERAPY}), regimen.id


def test_high_emetic_regimens_get_an_nk1_antagonist_on_day_1() -> None:
    bundles = load_premedications()
    for regimen in load_regimens().values():
        premeds = regimen.days[0].premedications
        codes = {d.code for d in bundles[premeds].drugs} if premeds else set()
        assert ("J1453" in codes) == (regimen.emetic_risk == "high"), regimen.id


def test_regimen_drugs_fit_the_cancers_that_use_them() -> None:
    """Each antineoplastic drug's label ICD-10 families (drugs.csv) cover the diagnoses it is given for."""
    drugs = load_drugs()
    regimens = load_regimens()
    for cancer in load_cancers().values():
        for rid, _ in cancer.regimens:
            for code in regimens[rid].codes():
                drug = drugs[code]
                if drug.drug_class not in ANTINEOPLASTIC or not drug.icd10_families:
                    continue
                for dx, _ in cancer.icd10:
                    undotted = dx.replace(".", "")
                    assert undotted.startswith(drug.icd10_families), (cancer.key, rid, code, dx)


def test_biosimilar_substitutes_are_biosimilars_of_a_regimen_drug() -> None:
    drugs = load_drugs()
    for regimen in load_regimens().values():
        for reference, substitutes in regimen.biosimilar_substitutes.items():
            assert reference in regimen.codes()
            assert substitutes and all(drugs[s].biosimilar_of == reference for s in substitutes)


# --- dose rules -----------------------------------------------------------------------------------


def test_dose_rule_amounts() -> None:
    patient = {"bsa_m2": Decimal(2), "weight_kg": Decimal(80), "crcl_ml_min": Decimal(115)}
    # oncology-billing.md 1: carboplatin AUC 5 with CrCl about 115 -> 700 mg
    assert DoseRule(kind="auc", value=Decimal(5)).amount(**patient) == Decimal(700)
    assert DoseRule(kind="auc", value=Decimal(5)).amount(**{**patient, "crcl_ml_min": Decimal(180)}) == 750
    assert DoseRule(kind="bsa", value=Decimal(500)).amount(**patient) == 1000
    assert DoseRule(kind="weight", value=Decimal("1.25"), cap=Decimal(125)).amount(
        **{**patient, "weight_kg": Decimal(110)}
    ) == Decimal(125)
    assert DoseRule(kind="flat", value=Decimal(200)).amount(**patient) == 200


def test_loading_doses_apply_to_cycle_1_only() -> None:
    trastuzumab = next(d for d in load_regimens()["tchp"].days[0].drugs if d.code == "J9355")
    assert trastuzumab.dose_in_cycle(1).value == 8 and trastuzumab.minutes_in_cycle(1) == 90
    assert trastuzumab.dose_in_cycle(2).value == 6 and trastuzumab.minutes_in_cycle(2) == 30
    rituximab = next(d for d in load_regimens()["r_chop"].days[0].drugs if d.code == "J9312")
    assert rituximab.dose_in_cycle(1) == rituximab.dose_in_cycle(3)
    assert rituximab.minutes_in_cycle(1) > rituximab.minutes_in_cycle(2) == 90


def test_models_are_frozen_and_validate_on_construction() -> None:
    regimen = load_regimens()["folfox_bev"]
    with pytest.raises(pydantic.ValidationError):
        regimen.cycle_days = 21  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="IV push lasts 1 to 15 minutes"):
        DrugAdministration(
            code="J9305", dose=DoseRule(kind="bsa", value=Decimal(500)), route="iv_push", minutes=20
        )
    with pytest.raises(pydantic.ValidationError, match="pump_hours"):
        DrugAdministration(
            code="J9190",
            dose=DoseRule(kind="bsa", value=Decimal(2400)),
            route="iv_infusion",
            minutes=60,
            pump_hours=46,
        )


# --- malformed files ------------------------------------------------------------------------------

GOOD_REGIMENS = """\
regimens:
  - id: r1
    name: test regimen
    cycle_days: 21
    cycles_min: 4
    cycles_max: 6
    immunotherapy_only: false
    emetic_risk: high
    days:
      - day: 1
        premedications: high_emetic
        drugs:
          - {code: J9271, dose: {kind: flat, value: 200}, route: iv_infusion, minutes: 30}
          - {code: J9305, dose: {kind: bsa, value: 500}, route: iv_push, minutes: 10}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_reads(tmp_path: Path) -> None:
    regimens = read_regimens(_write(tmp_path, "regimens.yaml", GOOD_REGIMENS))
    assert isinstance(regimens["r1"], Regimen)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "code: J9305",
            "code: J9999",
            "regimens.yaml: regimens[0].days[0].drugs[1].code: J9999 is not in the drug table",
        ),
        (
            "route: iv_push, minutes: 10",
            "route: iv_push, minutes: 30",
            "regimens.yaml: regimens[0].days[0].drugs[1].minutes: an IV push lasts 1 to 15 minutes, found 30",
        ),
        (
            "minutes: 10}",
            "minutes: 10, concurrent_with: J9045}",
            "regimens.yaml: regimens[0].days[0].drugs[1].concurrent_with: J9045 is not given on day 1",
        ),
        (
            "premedications: high_emetic",
            "premedications: nothing",
            "regimens.yaml: regimens[0].days[0].premedications: 'nothing' is not a bundle in premedications",
        ),
        (
            "kind: flat",
            "kind: auc",
            "regimens.yaml: regimens[0].days[0].drugs[0].dose.kind: an AUC (Calvert) dose is for carboplatin",
        ),
        ("cycles_max: 6", "cycles_max: 2", "regimens.yaml: regimens[0].cycles_max: cycles_max 2 is below"),
        ("value: 200", "value: lots", "regimens.yaml: regimens[0].days[0].drugs[0].dose.value: "),
        ("route: iv_infusion", "route: oral", "regimens.yaml: regimens[0].days[0].drugs[0].route: "),
        ("emetic_risk: high", "emetic_risk: high\n    colour: red", "regimens.yaml: regimens[0].colour: "),
        (
            "immunotherapy_only: false",
            "immunotherapy_only: true",
            "regimens[0].immunotherapy_only: must be False",
        ),
        (
            "drugs:",
            "drugs: [",
            "regimens.yaml: line 13, column 11: not valid YAML (expected the node content",
        ),
    ],
)
def test_malformed_regimens_name_the_file_and_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in GOOD_REGIMENS
    path = _write(tmp_path, "regimens.yaml", GOOD_REGIMENS.replace(old, new, 1))
    with pytest.raises(ClinicalDataError) as caught:
        read_regimens(path)
    assert message in str(caught.value)
    assert caught.value.source == "regimens.yaml"


GOOD_CANCERS = """\
cancers:
  - key: lung
    name: Lung
    share: 0.6
    age_mean: 68
    age_sd: 9
    icd10: [[C34.90, 0.5], [C34.11, 0.5]]
    regimens: [[carbo_pem_pembro, 1.0]]
  - key: prostate
    name: Prostate
    share: 0.4
    sex: M
    age_mean: 71
    age_sd: 8
    icd10: [[C61, 1.0]]
    regimens: [[docetaxel_q21, 1.0]]
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "C34.11",
            "C34.1",
            "cancers.yaml: cancers[0].icd10[1]: C34.1 is not a billable dotted ICD-10-CM code",
        ),
        ("C34.11", "C34.99", "cancers.yaml: cancers[0].icd10[1]: C34.99 is not a billable"),
        ("C34.11", "C3411", "cancers.yaml: cancers[0].icd10[1]: C3411 is not a billable dotted"),
        ("[C34.11, 0.5]", "[C34.11, 0.4]", "cancers.yaml: cancers[0].icd10: weights sum to 0.9, expected 1"),
        ("share: 0.4", "share: 0.3", "cancers.yaml: cancers[*].share: shares sum to 0.9, expected 1"),
        (
            "docetaxel_q21",
            "docetaxel_weekly",
            "cancers.yaml: cancers[1].regimens[0]: 'docetaxel_weekly' is not",
        ),
        (
            "[[C61, 1.0]]",
            "[[C50.911, 1.0]]",
            "cancers[1].icd10[0]: C50.911 is a sex-F code in a sex-M cancer",
        ),
        ("sex: M", "sex: X", "cancers.yaml: cancers[1].sex: "),
        (
            "sex: M",
            "sex: M\n    male_share: 0.9",
            "cancers[1].male_share: male_share applies only when sex is null",
        ),
    ],
)
def test_malformed_cancers_name_the_file_and_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert isinstance(read_cancers(_write(tmp_path, "cancers.yaml", GOOD_CANCERS))["lung"], Cancer)
    path = _write(tmp_path, "cancers.yaml", GOOD_CANCERS.replace(old, new, 1))
    with pytest.raises(ClinicalDataError) as caught:
        read_cancers(path)
    assert message in str(caught.value)


def test_malformed_premedications_name_the_file_and_the_field(tmp_path: Path) -> None:
    text = """\
premedications:
  - key: bad
    drugs:
      - {code: J1100, dose: {kind: flat, value: 12}, route: iv_push, minutes: 5}
      - {code: J9271, dose: {kind: flat, value: 200}, route: iv_infusion, minutes: 30}
"""
    with pytest.raises(
        ClinicalDataError, match=r"premedications\.yaml: premedications\[0\]\.drugs\[1\]\.code: J9271"
    ):
        read_premedications(_write(tmp_path, "premedications.yaml", text))
    with pytest.raises(ClinicalDataError, match=r"premedications\.yaml: premedications: Field required"):
        read_premedications(_write(tmp_path, "premedications.yaml", "bundles: []\n"))


# --- package hygiene ------------------------------------------------------------------------------


def test_import_reads_no_files() -> None:
    code = (
        "import claims.simulate.clinical as c\n"
        "fns = [getattr(c, n) for n in c.__all__ if n.startswith('load_')]\n"
        "assert len(fns) == 3, fns\n"
        "assert all(f.cache_info().currsize == 0 for f in fns), 'a file was read at import'\n"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)


def test_public_names_are_exported_and_examples_run() -> None:
    for name in clinical.__all__:
        assert getattr(clinical, name) is not None, name
    assert sorted(clinical.__all__) == sorted(set(clinical.__all__))
    result = doctest.testmod(clinical)
    assert result.attempted > 0 and result.failed == 0
