"""Ingest: the labeled line table, its summary, bad files reported while good ones are kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from claims.ingest import LINE_TABLE_COLUMNS, expand_paths, hash_identifier, ingest, submitted_columns
from claims.samples import SCENARIOS, make_claim


@pytest.fixture
def inputs(tmp_path: Path, golden_dir: Path, variations_dir: Path) -> tuple[Path, Path]:
    claims, remits = tmp_path / "claims", tmp_path / "remits"
    claims.mkdir()
    remits.mkdir()
    for path in golden_dir.glob("*.837*"):
        shutil.copy(path, claims)
    shutil.copy(variations_dir / "binary.bin", claims / "broken.837p")
    shutil.copy(variations_dir / "one_bad_claim.837p", claims / "zz_one_bad_claim.837p")
    shutil.copy(golden_dir / "remittances_denials.835", remits)
    return claims, remits


def test_ingest_writes_a_documented_labeled_table(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    claims, remits = inputs
    summary = ingest([claims], [remits], tmp_path / "out", salt="test")
    table = pq.read_table(tmp_path / "out" / "lines.parquet").to_pandas()
    assert list(table.columns) == list(LINE_TABLE_COLUMNS)
    expected_lines = sum(len(make().lines) for make in SCENARIOS.values()) + 11  # + the good claim of zz_
    assert len(table) == summary["lines"] == expected_lines
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["lines"] == expected_lines
    # the broken file and the bad claim are reported, the good files and the good claim kept
    assert summary["files_with_errors"] == 2
    errors = [e for f in summary["files"] for e in f["errors"]]
    assert any("binary" in e for e in errors) and any("claim 2 of transaction 0001" in e for e in errors)
    # labels: three denied lines with their categories (sample_remittances)
    denied = table[table.label_denied == True]  # noqa: E712
    assert sorted(denied.label_category) == ["authorization", "coding_modifier", "noncovered_trial"]
    assert summary["denied_lines"] == 3
    # the duplicate NSCLC claim from zz_one_bad_claim has no remittance of its own: it is a resubmission
    assert summary["claims_without_remittance"] == 1
    assert table.outcome_matched.sum() == summary["matched_lines"]


def test_no_patient_identity_in_the_table(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    claims, remits = inputs
    ingest([claims], [remits], tmp_path / "out", salt="test")
    raw = (tmp_path / "out" / "lines.parquet").read_bytes() + (tmp_path / "out" / "summary.json").read_bytes()
    for make in SCENARIOS.values():
        patient = make().patient
        for value in (
            patient.member_id,
            patient.last_name,
            patient.birth_date.strftime("%Y%m%d"),
            str(patient.birth_date),
        ):
            assert value.encode() not in raw
    assert hash_identifier("A", "s1") != hash_identifier("A", "s2")


def test_json_claims_are_accepted_and_bad_items_reported(tmp_path: Path) -> None:
    good = SCENARIOS["office_nsclc_carbo_pem_pembro"]().model_dump(mode="json")
    bad = json.loads(json.dumps(good))
    bad["claim_id"] = "BAD1"
    bad["lines"][2]["units"] = -3
    path = tmp_path / "claims.json"
    path.write_text(json.dumps({"claims": [good, bad]}))
    summary = ingest([path], [], tmp_path / "out", salt="s")
    assert summary["claims"] == 1
    [error] = summary["files"][0]["errors"]
    assert "claims[1].lines.2.units" in error


def test_expand_paths_skips_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "a.837").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.835").write_text("x")
    assert [p.name for p in expand_paths([tmp_path, tmp_path / "a.837"])] == ["a.837", "b.835"]


def test_submitted_columns_can_skip_columns_and_hashing() -> None:
    """The scorer asks for the feature builder's columns only, without hashed ids: the same values."""
    claims = [make_claim(name) for name in SCENARIOS]
    full = submitted_columns(claims, salt="s")
    only = {"claim_id", "claim_service_from", "claim_total_charge", "procedure_code", "units", "member_key"}
    part = submitted_columns(claims, salt=None, only=only)
    assert set(part) == only
    assert all(part[name] == full[name] for name in only - {"member_key"})
    assert part["member_key"] == [None] * len(full["claim_id"]) and None not in full["member_key"]
    assert len(full["claim_id"]) == sum(len(c.lines) for c in claims)
