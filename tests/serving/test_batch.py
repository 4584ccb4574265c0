"""``denials score``: the API's numbers, any input format, streamed in chunks, the same whatever the chunking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from claims.samples import make_claim
from claims.simulate.engine import SimulationResult
from features.model import DenialModel
from serving import ModelScorer
from serving.batch import _ROW_COLUMNS, _split_last_claim, read_authorizations, score_files
from tests.serving.conftest import claim_json, model_info, save_model_folder
from training.cli import app as cli

runner = CliRunner()
GOLDEN = Path(__file__).parent.parent / "data" / "x12" / "golden"


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory, serving_model: DenialModel) -> Path:
    return save_model_folder(serving_model, tmp_path_factory.mktemp("model") / "model")


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI's default cache (data/serving/model-cache, where the compiled trees go) is relative.
    monkeypatch.chdir(tmp_path)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_cli_and_api_return_the_same_numbers(client: TestClient, model_folder: Path, tmp_path: Path) -> None:
    claims = [
        make_claim(),
        make_claim("office_folfox_bev_dependent"),
        make_claim("hospital_outpatient_trial"),
    ]
    (tmp_path / "claims.json").write_text(json.dumps([claim_json(c) for c in claims]))
    out = tmp_path / "scores.jsonl"
    args = ["score", str(tmp_path / "claims.json"), str(GOLDEN / "office_nsclc_carbo_pem_pembro.837p")]
    result = runner.invoke(cli, [*args, "--out", str(out), "--model", str(model_folder), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "scored 4 claims, 37 lines" in result.output
    from_cli = _jsonl(out)
    from_api = client.post("/v1/claims/score", json={"claims": [claim_json(c) for c in claims]}).json()[
        "claims"
    ]
    data = (GOLDEN / "office_nsclc_carbo_pem_pembro.837p").read_bytes()
    from_api += client.post(
        "/v1/x12/837/score", content=data, headers={"Content-Type": "application/edi-x12"}
    ).json()["claims"]
    assert from_cli == from_api
    # The same content as CSV and Parquet rows.
    for suffix in (".csv", ".parquet"):
        table_out = tmp_path / f"scores{suffix}"
        result = runner.invoke(
            cli, [*args, "--out", str(table_out), "--model", str(model_folder), "--jobs", "1"]
        )
        assert result.exit_code == 0, result.output
        rows = pd.read_csv(table_out) if suffix == ".csv" else pd.read_parquet(table_out)
        expected = [line["denial_probability"] for claim in from_api for line in claim["lines"]]
        assert rows["denial_probability"].round(6).tolist() == expected
        assert rows["claim_risk"].round(6).tolist()[0] == from_api[0]["claim_risk"]
    # Every column of every Parquet row is the API's value, as text where the API has a list.
    table = pd.read_parquet(tmp_path / "scores.parquet").astype(object)
    assert table.columns.tolist() == list(_ROW_COLUMNS)
    assert table.where(table.notna(), None).to_dict("records") == [
        _api_row(claim, line) for claim in from_api for line in claim["lines"]
    ]


def _api_row(claim: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    findings = [claim["findings"][i] for i in line["findings"]]
    return {
        "claim_id": claim["claim_id"],
        "line_number": line["line_number"],
        "procedure_code": line["procedure_code"],
        "charge": line["charge"],
        "denial_probability": line["denial_probability"],
        "likely_category": line["likely_category"],
        "category_probability": line["category_probability"],
        "claim_risk": claim["claim_risk"],
        "claim_expected_denied_dollars": claim["expected_denied_dollars"],
        "reasons": None if line["reasons"] is None else "; ".join(r["text"] for r in line["reasons"]),
        "findings": json.dumps(findings) if findings else None,
        "actions": json.dumps(claim["actions"]) if claim["actions"] else None,
        "warnings": " | ".join(claim["warnings"]) or None,
    }


def test_cli_reads_the_api_explanation_settings(
    model_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DENIALS_EXPLAIN_*`` choose the explained lines for ``denials score`` as for the API."""
    path = GOLDEN / "office_nsclc_carbo_pem_pembro.837p"
    explained = {}
    for name, env in {"defaults": {}, "findings only": {"THRESHOLD": "1", "TOP_K": "0"}}.items():
        for key, value in env.items():
            monkeypatch.setenv(f"DENIALS_EXPLAIN_{key}", value)
        out = tmp_path / f"{name}.jsonl"
        result = runner.invoke(cli, ["score", str(path), "--out", str(out), "--model", str(model_folder)])
        assert result.exit_code == 0, result.output
        [score] = _jsonl(out)
        flagged = {n for f in score["findings"] for n in f["lines"]}
        explained[name] = {line["line_number"] for line in score["lines"] if line["reasons"] is not None}
        if name == "findings only":
            assert explained[name] == flagged
    assert explained["findings only"] < explained["defaults"]


def test_cli_compiled_trees_give_lightgbms_output(model_folder: Path, tmp_path: Path) -> None:
    """By default ``denials score`` predicts with the trees compiled by lleaves (cached under --cache);
    ``--no-compiled`` uses LightGBM's own predict: the same output file."""
    path = GOLDEN / "office_nsclc_carbo_pem_pembro.837p"
    outputs = {}
    for flag in ("--compiled", "--no-compiled"):
        out = tmp_path / f"{flag}.parquet"
        args = ["score", str(path), "--out", str(out), "--model", str(model_folder), "--cache", "cache"]
        result = runner.invoke(cli, [*args, flag])
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output
        outputs[flag] = pd.read_parquet(out)
    assert outputs["--compiled"].equals(outputs["--no-compiled"])
    assert len(list((tmp_path / "cache" / "compiled").glob("*.so"))) == 1


def test_cli_refuses_bad_explanation_settings(model_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENIALS_EXPLAIN_THRESHOLD", "high")
    path = GOLDEN / "office_nsclc_carbo_pem_pembro.837p"
    result = runner.invoke(cli, ["score", str(path), "--out", "never.jsonl", "--model", str(model_folder)])
    assert result.exit_code == 2
    assert "DENIALS_EXPLAIN_THRESHOLD: Input should be a valid number" in result.output
    assert "Traceback" not in result.output and not Path("never.jsonl").exists()


def test_cli_reports_bad_inputs(model_folder: Path, tmp_path: Path, variations_dir: Path) -> None:
    (tmp_path / "bad.json").write_text('[{"claim_id": "X"}]')
    out = tmp_path / "out.jsonl"
    files = [tmp_path / "bad.json", variations_dir / "not_x12.txt", tmp_path / "missing.837p"]
    result = runner.invoke(cli, ["score", *map(str, files), "--out", str(out), "--model", str(model_folder)])
    assert result.exit_code == 1
    assert "bad.json: 0.form: Field required" in result.output
    assert "missing.837p: no such file" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli, ["score", str(tmp_path / "bad.json"), "--out", str(out), "--model", "/nope"])
    assert result.exit_code == 2 and "cannot load the model /nope" in result.output


def test_line_tables_stream_in_chunks_with_the_claims_scores(
    serving_model: DenialModel, small_practice: tuple[SimulationResult, Path], tmp_path: Path
) -> None:
    result, folder = small_practice
    scorer = ModelScorer(serving_model, model_info(serving_model), salt="s")
    table = pd.read_parquet(folder / "lines.parquet")
    head = table[table["claim_id"].isin(table["claim_id"].drop_duplicates().head(60))]
    head.to_parquet(tmp_path / "lines.parquet")
    auths = read_authorizations(folder / "authorizations.parquet")
    whole = score_files(
        [tmp_path / "lines.parquet"], tmp_path / "whole.jsonl", scorer=scorer, authorizations=auths
    )
    chunked = score_files(
        [tmp_path / "lines.parquet"],
        tmp_path / "chunked.jsonl",
        scorer=scorer,
        authorizations=auths,
        chunk_lines=37,
    )
    assert whole.lines == chunked.lines == len(head) and not whole.errors
    assert _jsonl(tmp_path / "whole.jsonl") == _jsonl(tmp_path / "chunked.jsonl")
    # The table path gives the numbers of the claims themselves (rebuilt claims, table ages).
    scored = {(c["claim_id"], line["line_number"]): line["denial_probability"]
              for c in _jsonl(tmp_path / "whole.jsonl") for line in c["lines"]}  # fmt: skip
    ids = set(head["claim_id"])
    claims = [c for c in result.claims if c.claim_id in ids]
    direct = scorer.score(claims, authorizations=result.authorizations, explain="none", fixes=False)
    for claim in direct:
        for line in claim.lines:
            assert scored[(claim.claim_id, line.line_number)] == pytest.approx(line.probability, abs=1e-6)
    # CSV in, the same out.
    head.to_csv(tmp_path / "lines.csv", index=False)
    from_csv = score_files(
        [tmp_path / "lines.csv"], tmp_path / "csv.jsonl", scorer=scorer, authorizations=auths
    )
    assert from_csv.lines == len(head) and not from_csv.errors
    assert _jsonl(tmp_path / "csv.jsonl") == _jsonl(tmp_path / "whole.jsonl")


@pytest.mark.slow
def test_worker_processes_give_the_same_output(
    serving_model: DenialModel, small_practice: tuple[SimulationResult, Path], tmp_path: Path
) -> None:
    _, folder = small_practice
    scorer = ModelScorer(serving_model, model_info(serving_model), salt="s")
    assert scorer.use_compiled(tmp_path / "compiled")  # the forked workers inherit the native code
    auths = read_authorizations(folder / "authorizations.parquet")
    paths = [folder / "lines.parquet"]
    one = score_files(paths, tmp_path / "one.parquet", scorer=scorer, authorizations=auths, explain="none",
                      fixes=False, chunk_lines=1000)  # fmt: skip
    two = score_files(paths, tmp_path / "two.parquet", scorer=scorer, authorizations=auths, explain="none",
                      fixes=False, chunk_lines=1000, jobs=2)  # fmt: skip
    assert one.lines == two.lines > 3000
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "two.parquet")
    )


@pytest.mark.parametrize(
    ("ids", "days", "carried"),
    [
        (["a", "a", "b", "b", "b"], ["d1"] * 5, 3),
        (["a", "b", "b", "b"], ["d1", "d1", "d1", "d2"], 1),  # b resubmitted on d2: another claim
        (["a", "a"], ["d1", "d1"], 2),
        (["a"], [None], 1),
        (["a", "b", "b"], ["d1", None, None], 2),
    ],
)
def test_a_chunk_carries_its_last_claim(ids: list[str], days: list[str | None], carried: int) -> None:
    import datetime as dt

    dates = {"d1": dt.date(2026, 3, 2), "d2": dt.date(2026, 3, 9), None: None}
    frame = pd.DataFrame({"claim_id": ids, "submission_date": [dates[d] for d in days]})
    complete, carry = _split_last_claim(frame)
    assert len(carry) == carried and len(complete) + len(carry) == len(frame)
    assert complete.index.tolist() + carry.index.tolist() == list(range(len(frame)))
