"""Claims rebuilt from a line table for the point-in-time audit: what validation would give, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claims.ingest import hash_identifier
from claims.model import Claim
from claims.simulate.engine import SimulationResult
from features.context import claims_from_frame


def test_claims_rebuilt_from_the_table_are_valid_and_keep_what_the_audit_reads(
    small_practice: tuple[SimulationResult, Path],
) -> None:
    result, folder = small_practice
    table = pd.read_parquet(folder / "lines.parquet")
    rebuilt = claims_from_frame(
        table.sort_values(["submission_date", "claim_id", "line_number"], kind="stable")
    )
    originals = {(c.claim_id, c.submission_date): c for c in result.claims}
    assert len(rebuilt) == len(originals)
    salt = result.config.id_salt
    for claim in rebuilt:
        # built without validation, yet exactly what validation gives (fields, types, fields set)
        validated = Claim.model_validate(claim.model_dump())
        assert validated == claim
        assert validated.model_fields_set == claim.model_fields_set
        original = originals[(claim.claim_id, claim.submission_date)]
        assert claim.patient.member_id == hash_identifier(original.patient.member_id, salt)
        assert claim.payer == original.payer.model_copy(update={"address": None})
        assert claim.diagnosis_codes == original.diagnosis_codes
        assert (claim.clinical_trial_number, claim.prior_authorization, claim.condition_codes) == (
            original.clinical_trial_number, original.prior_authorization, original.condition_codes
        )  # fmt: skip
        for line, before in zip(claim.lines, original.lines, strict=True):
            assert line.model_dump(exclude={"description"}) == before.model_dump(exclude={"description"})
    # payers, patients and diagnoses are shared between claims; lists are each line's own
    assert len({id(c.payer) for c in rebuilt}) <= len({c.payer.payer_id for c in rebuilt})
    first, second = rebuilt[0].lines[0], rebuilt[1].lines[0]
    assert first.modifiers is not second.modifiers
