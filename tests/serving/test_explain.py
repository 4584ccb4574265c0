"""Explanations are LightGBM's exact TreeSHAP, grouped by the catalogue, on the lines that matter."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from claims.model import Authorization
from claims.simulate.engine import SimulationResult
from features.context import payers_by_id
from features.model import DenialModel
from serving import ModelScorer
from serving.explain import Explainer
from tests.serving.conftest import model_info


@pytest.fixture(scope="module")
def sample(simulated_claims: SimulationResult) -> tuple[list, dict[tuple[str, str], list[Authorization]]]:
    auths: dict[tuple[str, str], list[Authorization]] = defaultdict(list)
    for auth in simulated_claims.authorizations:
        auths[(auth.payer_id, auth.member_id)].append(auth)
    return simulated_claims.claims[-40:], auths


def test_reasons_are_exact_treeshap_grouped(serving_model: DenialModel, sample: tuple) -> None:
    claims, auths = sample
    scorer = ModelScorer(serving_model, model_info(serving_model), salt="s", explain_threshold=0.0)
    explainer = Explainer(serving_model)
    payers = payers_by_id()
    compared = 0
    for claim in claims:
        on_file = auths.get((claim.payer.payer_id, claim.patient.member_id), [])
        [result] = scorer.score([claim], authorizations=on_file, explain="all", fixes=False)
        matrix, _ = serving_model.claim_matrix([claim], authorizations=on_file, payers=payers)
        contributions = serving_model.contributions(matrix)
        raw = serving_model.score_matrix(matrix).raw
        # TreeSHAP is additive: features + bias = the booster's log-odds, exactly.
        np.testing.assert_allclose(contributions.sum(axis=1), raw, atol=1e-6)
        # The scorer's probabilities are the model's own.
        np.testing.assert_allclose(
            [line.probability for line in result.lines],
            serving_model.score_matrix(matrix).probability,
            atol=1e-9,
        )
        grouped = explainer.group_contributions(contributions)
        for k, line in enumerate(result.lines):
            assert line.reasons is not None
            positive = sorted((g for g in grouped[k] if g > 1e-6), reverse=True)[:3]
            assert [r.contribution for r in line.reasons] == pytest.approx(
                [round(g, 4) for g in positive], abs=1e-4
            )
            for reason in line.reasons:
                index = explainer.groups.index(reason.group)
                assert reason.contribution == pytest.approx(grouped[k, index], abs=1e-4)
                assert reason.text and "_" not in reason.text.split(" ")[0]
            compared += 1
    assert compared > 100


def test_auto_explains_findings_high_risk_and_top_k(serving_model: DenialModel, sample: tuple) -> None:
    claims, auths = sample
    scorer = ModelScorer(
        serving_model,
        model_info(serving_model),
        salt="s",
        explain_threshold=0.3,
        explain_top_k=1,
        explain_min_risk=0.05,
    )
    seen = {"top only": 0, "top below the floor": 0}
    for claim in claims:
        on_file = auths.get((claim.payer.payer_id, claim.patient.member_id), [])
        [result] = scorer.score([claim], authorizations=on_file, explain="auto")
        flagged = {n for f in result.findings for n in f.lines}
        claim_wide = any(not f.lines for f in result.findings)
        top = max(result.lines, key=lambda line: line.probability)
        for line in result.lines:
            is_top = line is top and line.probability >= 0.05  # top-k only among lines worth a look
            others = claim_wide or line.line_number in flagged or line.probability >= 0.3
            assert (line.reasons is not None) == (others or is_top) or (
                line.reasons is not None and line.probability == top.probability >= 0.05
            )
            if line is top and not others:
                seen["top only" if is_top else "top below the floor"] += 1
        [bare] = scorer.score([claim], authorizations=on_file, explain="none")
        assert all(line.reasons is None and line.category is None for line in bare.lines)
        assert [line.probability for line in bare.lines] == [line.probability for line in result.lines]
    assert all(seen.values()), seen  # both sides of the floor were exercised
