"""Simulation configuration: validated, with defaults; loadable from a YAML file.

Every rate is a simulator default (plausible, configurable), not a measured fact.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from claims.errors import ClaimsError

__all__ = ["AuthorizationRates", "CoderErrorRates", "SimulationConfig", "load_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CoderErrorRates(_Strict):
    """How often the practice's coders make each mistake (per eligible line or claim)."""

    unit_conversion: float = Field(0.01, ge=0, le=1, description="per drug line: units x10, /10, or 1")
    missing_jw_jz: float = Field(0.03, ge=0, le=1, description="per single-dose drug line")
    jw_without_waste: float = Field(0.006, ge=0, le=1, description="per JZ line: a JW line added anyway")
    second_initial: float = Field(0.02, ge=0, le=1, description="per claim with 2+ IV services")
    addon_without_primary: float = Field(0.01, ge=0, le=1, description="per claim with an initial code")
    missing_modifier_25: float = Field(0.06, ge=0, le=1, description="per E/M line on an infusion day")
    missing_trial_element: float = Field(0.25, ge=0, le=1, description="per trial claim: NCT/Q0/Q1/Z00.6")
    diagnosis_not_covered: float = Field(0.012, ge=0, le=1, description="per claim with a drug")
    ndc_mismatch: float = Field(0.012, ge=0, le=1, description="per drug line with an NDC")
    auth_number_missing: float = Field(0.03, ge=0, le=1, description="per claim with an auth on file")
    late_submission: float = Field(0.008, ge=0, le=1, description="per claim")
    duplicate_submission: float = Field(0.008, ge=0, le=1, description="per claim")


class AuthorizationRates(_Strict):
    """How often a prior authorization goes wrong (per treatment course that needs one)."""

    never_requested: float = Field(0.04, ge=0, le=1)
    pending_at_service: float = Field(0.04, ge=0, le=1)
    short_window: float = Field(0.06, ge=0, le=1, description="approved for 90 days: expires mid-regimen")
    units_short: float = Field(0.05, ge=0, le=1, description="approved units run out before the last cycle")
    wrong_code: float = Field(0.03, ge=0, le=1, description="approved for another code (biosimilar switch)")
    wrong_number: float = Field(0.02, ge=0, le=1, description="a mistyped number on the claim")


class SimulationConfig(_Strict):
    """What to simulate: how much, when, the site and trial mix, error rates."""

    claims: int = Field(2000, gt=0)
    seed: int = 0
    start: dt.date = dt.date(2023, 1, 1)
    end: dt.date = dt.date(2025, 12, 31)
    office_share: float = Field(0.7, ge=0, le=1, description="patients treated in the office (837P)")
    trial_share: float = Field(0.04, ge=0, le=1, description="patients on a clinical trial")
    dose_reduction_rate: float = Field(0.12, ge=0, le=1, description="per cycle from cycle 2")
    hold_rate: float = Field(0.08, ge=0, le=1, description="per cycle: delayed by a week")
    jz_before_required: float = Field(0.35, ge=0, le=1, description="JZ used while it was optional")
    biosimilar_adoption: float = Field(0.85, ge=0, le=1, description="practice follows a payer's preference")
    port_flush_share: float = Field(0.5, ge=0, le=1, description="office patients flushed after treatment")
    submission_lag_days: tuple[int, int] = (1, 9)
    coder_errors: CoderErrorRates = CoderErrorRates()
    authorizations: AuthorizationRates = AuthorizationRates()
    id_salt: str = "simulated-practice"

    @model_validator(mode="after")
    def _period(self) -> SimulationConfig:
        if self.end <= self.start + dt.timedelta(days=60):
            raise ValueError("the period must be longer than 60 days")
        low, high = self.submission_lag_days
        if not 0 <= low <= high:
            raise ValueError("submission_lag_days must be (low, high) with 0 <= low <= high")
        return self


def load_config(path: str | Path | None = None, **overrides: object) -> SimulationConfig:
    """Defaults, then the YAML file (if any), then ``overrides``; errors name the file and field."""
    data: dict[str, object] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ClaimsError(f"{path}: cannot read the simulation config ({e})") from e
        if not isinstance(loaded, dict):
            raise ClaimsError(f"{path}: expected a mapping of settings")
        data.update(loaded)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return SimulationConfig.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ClaimsError(f"{path or 'config'}: {where + ': ' if where else ''}{message}") from e
