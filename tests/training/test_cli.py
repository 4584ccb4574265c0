"""The denials CLI: exit codes, one-line errors without tracebacks, and multi-value options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from training.cli import _expand_multi_value_options, app

runner = CliRunner()


def test_x12_check_ok(golden_dir: Path) -> None:
    result = runner.invoke(app, ["x12", "check", str(golden_dir / "office_nsclc_carbo_pem_pembro.837p")])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and "1 claims, 11 lines" in result.output


def test_x12_check_reports_where_and_exits_non_zero(variations_dir: Path) -> None:
    result = runner.invoke(app, ["x12", "check", str(variations_dir / "wrong_se_count.837p")])
    assert result.exit_code == 1
    assert "segment 81 (SE): SE01 says 979 segments" in result.output
    assert "Traceback" not in result.output


def test_x12_check_json(variations_dir: Path, golden_dir: Path) -> None:
    files = [golden_dir / "remittances_denials.835", variations_dir / "empty.837p"]
    result = runner.invoke(app, ["x12", "check", "--json", *map(str, files)])
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.output.strip().splitlines())
    assert first["remittance_claims"] == 3 and first["errors"] == []
    assert "the file is empty" in second["errors"][0]


def test_multi_value_options_are_expanded() -> None:
    argv = ["ingest", "--claims", "a", "b", "--remits", "c", "--out", "o"]
    assert _expand_multi_value_options(argv) == [
        "ingest",
        "--claims",
        "a",
        "--claims",
        "b",
        "--remits",
        "c",
        "--out",
        "o",
    ]


def test_console_script_ingest_end_to_end(tmp_path: Path, golden_dir: Path, variations_dir: Path) -> None:
    """The installed `denials` command, as a user runs it: several paths after one flag."""
    exe = Path(sys.executable).parent / "denials"
    result = subprocess.run(
        [
            str(exe),
            "ingest",
            "--claims",
            str(golden_dir / "office_nsclc_carbo_pem_pembro.837p"),
            str(golden_dir / "hospital_outpatient_trial.837i"),
            str(variations_dir / "not_x12.txt"),
            "--remits",
            str(golden_dir / "remittances_denials.835"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "not an X12 interchange" in result.stderr and "Traceback" not in result.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["claims"] == 2 and summary["lines"] == 16 and summary["denied_lines"] == 2
    assert (tmp_path / "out" / ".id_salt").exists()
