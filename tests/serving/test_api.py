"""The HTTP API through FastAPI's TestClient: scoring, X12, audit, model info, errors as problems."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from claims.samples import make_claim, make_line, sample_authorizations
from serving.app import create_app
from serving.dependencies import get_scorer
from serving.model_store import LoadedModel, ModelInfo
from serving.scorer import ClaimResult, LineResult
from serving.settings import Settings
from tests.serving.conftest import claim_json

GOLDEN_837 = Path(__file__).parent.parent / "data" / "x12" / "golden"


def _score(client: TestClient, claims: list[Any], **body: Any) -> dict[str, Any]:
    payload = {"claims": [claim_json(c) for c in claims], **body}
    response = client.post("/v1/claims/score", json=payload)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _without_jz() -> Any:
    """The NSCLC sample with JZ removed from pembrolizumab (a single-dose drug): JWJZ-MISSING with a fix."""
    claim = make_claim()
    lines = [line.model_dump() for line in claim.lines]
    lines[5]["modifiers"] = []
    return make_claim(lines=lines)


def test_score_one_claim_response(client: TestClient) -> None:
    claim = _without_jz()
    response = client.post("/v1/claims/score", json={"claim": claim_json(claim), "authorizations": []})
    assert response.status_code == 200, response.text
    body = response.json()
    [scored] = body["claims"]
    assert scored["claim_id"] == claim.claim_id
    lines = scored["lines"]
    # Lines in the order submitted, each with a probability and a likely category.
    assert [line["line_number"] for line in lines] == [line.line_number for line in claim.lines]
    p = [line["denial_probability"] for line in lines]
    assert all(0 <= x <= 1 for x in p)
    assert all(line["likely_category"] for line in lines)
    assert scored["claim_risk"] == pytest.approx(1 - math.prod(1 - x for x in p), abs=1e-5)
    expected = sum(x * float(line.charge) for x, line in zip(p, claim.lines, strict=True))
    assert scored["expected_denied_dollars"] == pytest.approx(expected, abs=0.05)
    # The finding, its fix, and the risk after the fix, re-scored in the same request.
    [finding] = [f for f in scored["findings"] if f["rule_id"] == "JWJZ-MISSING"]
    assert finding["lines"] == [6]
    assert finding["fix"]["action"] == "add_modifier" and finding["fix"]["value"] == "JZ"
    assert finding["claim_risk_after"] is not None and finding["line_risk_after"]["6"] is not None
    assert finding["line_risk_after"]["6"] <= lines[5]["denial_probability"]
    # The line with the finding is explained in plain words.
    assert lines[5]["reasons"], lines[5]
    assert any("JZ" in r["text"] for r in lines[5]["reasons"]), lines[5]["reasons"]
    assert lines[5]["findings"] == [scored["findings"].index(finding)]
    # Actions sorted by dollars saved.
    saved = [a["dollars_saved"] for a in body["top_actions"]]
    assert saved == sorted(saved, reverse=True)


def test_missing_authorization_is_explained_in_plain_words(client: TestClient) -> None:
    claim = make_claim("office_folfox_bev_dependent")
    [scored] = _score(client, [claim], authorizations=[])["claims"]
    assert [f["rule_id"] for f in scored["findings"]] == ["AUTH-MISSING"]
    line = scored["lines"][8]
    assert line["procedure_code"] == "J9035"
    texts = [r["text"] for r in line["reasons"]]
    assert "No authorization on file for J9035 with this payer" in texts, texts
    # With the authorization on file, the finding is gone and the line's risk is lower.
    payload = [a.model_dump(mode="json") for a in sample_authorizations()]
    [authorized] = _score(client, [claim], authorizations=payload)["claims"]
    assert authorized["findings"] == []
    assert authorized["lines"][8]["denial_probability"] < line["denial_probability"]


def test_a_claims_score_does_not_depend_on_the_batch(client: TestClient) -> None:
    a, b, c = make_claim(), make_claim("office_folfox_bev_dependent"), make_claim("hospital_outpatient_trial")
    alone = _score(client, [a], authorizations=[])["claims"][0]
    together = _score(client, [b, a, c, a], authorizations=[])["claims"]
    assert together[1] == alone and together[3] == alone


def test_no_authorizations_sent_is_a_warning(client: TestClient) -> None:
    [scored] = _score(client, [make_claim("office_folfox_bev_dependent")])["claims"]
    assert any("authorizations" in w for w in scored["warnings"])
    assert all(f["rule_id"] != "AUTH-MISSING" for f in scored["findings"])


def test_unknown_codes_are_scored_with_a_warning(client: TestClient) -> None:
    claim = make_claim()
    lines = [line.model_dump() for line in claim.lines]
    lines.append(make_line(12, "A9999", "1", "10.00", service_date=claim.lines[0].service_date).model_dump())
    payer = {**claim.payer.model_dump(), "payer_id": "UNKNOWN1"}
    [scored] = _score(client, [make_claim(lines=lines, payer=payer)], authorizations=[])["claims"]
    assert len(scored["lines"]) == 12
    assert any("A9999" in w and "unknown code" in w for w in scored["warnings"])
    assert any("UNKNOWN1" in w for w in scored["warnings"])


def test_x12_837_body_is_scored(client: TestClient) -> None:
    for name, media_type in [
        ("office_nsclc_carbo_pem_pembro.837p", "application/edi-x12"),
        ("hospital_outpatient_trial.837i", "text/plain; charset=utf-8"),
    ]:
        data = (GOLDEN_837 / name).read_bytes()
        response = client.post("/v1/x12/837/score", content=data, headers={"Content-Type": media_type})
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["claims"]) == 1 and body["claims"][0]["lines"] and body["errors"] == []


def test_x12_errors_say_where(client: TestClient, variations_dir: Path) -> None:
    data = (variations_dir / "truncated.837p").read_bytes()
    response = client.post("/v1/x12/837/score", content=data, headers={"Content-Type": "application/edi-x12"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and "segment" in problem["detail"] and problem["errors"]
    remit = (GOLDEN_837 / "remittances_denials.835").read_bytes()
    response = client.post("/v1/x12/837/score", content=remit, headers={"Content-Type": "text/plain"})
    assert response.status_code == 400 and "835" in " ".join(response.json()["errors"])
    response = client.post("/v1/x12/837/score", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 415


def test_x12_with_one_bad_claim_scores_the_others(client: TestClient, variations_dir: Path) -> None:
    data = (variations_dir / "one_bad_claim.837p").read_bytes()
    response = client.post("/v1/x12/837/score", content=data, headers={"Content-Type": "application/edi-x12"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["claims"] and body["errors"] and "segment" in body["errors"][0]


def test_invalid_json_gives_field_paths(client: TestClient) -> None:
    data = claim_json(make_claim())
    data["lines"][2]["units"] = "-3"
    response = client.post("/v1/claims/score", json={"claims": [data]})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == "body.claims.0.lines.2.units"
    assert "input" not in problem["errors"][0]
    response = client.post(
        "/v1/claims/score", content=b'{"claims": [', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["type"] == "json_invalid"
    response = client.post("/v1/claims/score", json={"claim": data, "claims": [data]})
    assert response.status_code == 422


def test_audit_only(client: TestClient) -> None:
    claim = make_claim("office_folfox_bev_dependent")
    response = client.post("/v1/claims/audit", json={"claim": claim_json(claim), "authorizations": []})
    assert response.status_code == 200
    [audited] = response.json()["claims"]
    assert [f["rule_id"] for f in audited["findings"]] == ["AUTH-MISSING"]
    assert (
        "claim_risk_after" not in audited["findings"][0] or audited["findings"][0]["claim_risk_after"] is None
    )


def test_model_health_readiness_metrics(client: TestClient) -> None:
    info = client.get("/v1/model").json()
    assert info["name"] == "test-model" and info["version"] == "7" and info["alias"] == "champion"
    assert info["metrics"]["model.roc_auc"] == 0.8 and info["training_period"]
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["from_cache"] is False
    # The default settings predict with the compiled trees, cached under the model cache.
    assert ready["predictor"].startswith("lleaves (compiled")
    client.post("/v1/claims/score", json={"claim": claim_json(make_claim())})
    text = client.get("/metrics").text
    assert 'denials_requests_total{route="/v1/claims/score",status="200"} 1' in text
    assert "denials_lines_scored_total 11" in text
    assert client.get("/openapi.json").json()["paths"]["/v1/x12/837/score"]
    assert client.get("/docs").status_code == 200


def test_too_many_claims_and_too_large_bodies(client: TestClient) -> None:
    claims = [claim_json(make_claim("hospital_outpatient_trial"))] * 51
    response = client.post("/v1/claims/score", json={"claims": claims})
    assert response.status_code == 413 and response.json()["type"].endswith("too-many-claims")
    big = b"ISA" + b" " * 300_000
    response = client.post("/v1/x12/837/score", content=big, headers={"Content-Type": "text/plain"})
    assert response.status_code == 413 and response.json()["limit"] == 200_000

    def chunks() -> Any:  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(30):
            yield b" " * 10_000

    response = client.post("/v1/x12/837/score", content=chunks(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 413


def test_unknown_routes_are_problems(client: TestClient) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code in (401, 404)
    response = client.get("/nothing")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/claims/score").status_code == 405


class FakeScorer:
    """Any object with the Scorer methods can be injected (the seam the routes depend on)."""

    info = ModelInfo(
        name="fake", version="0", alias=None, run_id=None, uri="fake", source="path", loaded_at=""
    )
    predictor = "fake"

    def score(self, claims: Any, **kwargs: Any) -> list[ClaimResult]:
        return [
            ClaimResult(
                claim_id=c.claim_id,
                claim_key="k",
                patient_key="p",
                risk=0.5,
                expected_denied=1.0,
                lines=[
                    LineResult(
                        line.line_number,
                        line.procedure_code,
                        float(line.charge),
                        0.5,
                        None,
                        None,
                        None,
                        [],
                        "d",
                    )
                    for line in c.lines
                ],
                findings=[],
            )
            for c in claims
        ]

    def probe(self) -> bool:
        return True


def test_the_scorer_is_injected(app: FastAPI) -> None:
    app.dependency_overrides[get_scorer] = FakeScorer
    with TestClient(app, headers={"X-API-Key": "test-key-0123456789"}) as client:
        body = client.post("/v1/claims/score", json={"claim": claim_json(make_claim())}).json()
    assert body["model"] == "fake version 0" and body["claims"][0]["claim_risk"] == 0.5


def test_small_requests_are_scored_on_the_event_loop_and_large_ones_in_a_worker_thread(
    settings: Settings, loader: Callable[[Settings], LoadedModel]
) -> None:
    """Scoring holds the GIL, so a small request is scored where it was parsed (no thread hand-over);
    a large one goes to a worker thread so health checks keep answering. Same answer either way."""
    threads: list[str] = []

    class Recording(FakeScorer):
        def score(self, claims: Any, **kwargs: Any) -> list[ClaimResult]:
            threads.append(threading.current_thread().name)
            return super().score(claims, **kwargs)

    claim = make_claim()
    app = create_app(settings.model_copy(update={"inline_max_lines": len(claim.lines)}), loader=loader)
    app.dependency_overrides[get_scorer] = Recording
    with TestClient(app, headers={"X-API-Key": "test-key-0123456789"}) as client:
        small = _score(client, [claim])
        large = _score(client, [claim, claim])
        x12 = client.post(
            "/v1/x12/837/score",
            content=(GOLDEN_837 / "office_nsclc_carbo_pem_pembro.837p").read_bytes(),
            headers={"content-type": "application/edi-x12"},
        )
    assert x12.status_code == 200, x12.text
    loop_thread = threads[0]
    assert "worker" not in loop_thread.lower()
    assert "worker" in threads[1].lower() and threads[1] != loop_thread
    assert large["claims"][0] == large["claims"][1] == small["claims"][0]


def test_scoring_routes_need_no_thread_hand_over() -> None:
    """FastAPI runs sync dependencies and endpoints in its thread pool; each hand-over waits for the GIL
    the scorer holds (measured: 24 -> 10 ms a request when they became async). Keep them async."""
    import inspect

    from serving import dependencies, security
    from serving.routes import claims, x12

    for module in (dependencies, security):
        for name in module.__all__:
            item = getattr(module, name)
            if inspect.isfunction(item):
                assert inspect.iscoroutinefunction(item) or inspect.isasyncgenfunction(item), name
    assert inspect.iscoroutinefunction(claims.score) and inspect.iscoroutinefunction(x12.score_837)
