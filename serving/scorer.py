"""Claims in, risk out: per line probability, likely category, reasons; per finding the risk after its fix.

:class:`Scorer` is the interface the routes and the batch command depend on (FastAPI injects it; tests may
inject any object with the same methods). :class:`ModelScorer` implements it over a loaded
:class:`~features.model.DenialModel`:

1. each claim is audited on its own (the authorizations on file for its payer and member; no other claim
   of the request is seen), so a claim's score never depends on the other claims in the batch;
2. every finding's fix is applied (:func:`claims.audit.apply_fix`) and the fixed claims are audited too;
3. the claims and all their fixed variants become one feature matrix (one ``transform_columns``), scored
   with one plain prediction (the risk booster compiled by lleaves when :meth:`ModelScorer.use_compiled`
   was called and its check passed, else ``Booster.predict``) and calibrated; categories come from the
   reason booster;
4. exact TreeSHAP (``pred_contrib``) runs only on the lines worth explaining (see :mod:`serving.explain`).

Claim risk is ``1 - prod(1 - p_line)``; expected denied dollars ``sum(p_line x line charge)``.
LightGBM predicts with one thread here: several requests run at once, and OpenMP's thread hand-off costs
more than a 10-row prediction on a busy 2-core machine.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import ValidationError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from claims.audit import Finding, Fix, apply_fix
from claims.ingest import hash_identifier, submitted_columns
from claims.model import Authorization, Claim
from claims.policy import PayerPolicy
from claims.samples import make_claim
from features.builder import INPUT_COLUMNS
from features.context import annotate_claims, payers_by_id
from features.model import DenialModel
from serving.compiled import CompiledForest, compile_forest
from serving.explain import Explainer, Reason
from serving.model_store import ModelInfo

__all__ = [
    "ClaimInput",
    "ClaimResult",
    "Explain",
    "FixOutcome",
    "LineResult",
    "ModelScorer",
    "Scorer",
    "claim_risk",
]

logger = logging.getLogger(__name__)

Explain = Literal["auto", "all", "none"]


@dataclass(frozen=True, slots=True)
class FixOutcome:
    """A finding's fix and the risk after applying it (re-scored with the fixed claim re-audited)."""

    finding: int  # index into ClaimResult.findings
    fix: Fix
    line_risk_after: dict[int, float | None]  # line number -> probability after (None: the fix removes it)
    claim_risk_after: float
    expected_denied_after: float
    dollars_saved: float


@dataclass(slots=True)
class LineResult:
    line_number: int
    procedure_code: str
    charge: float
    probability: float
    category: str | None
    category_probability: float | None
    reasons: list[Reason] | None  # None: not explained (below the threshold, or explain="none")
    findings: list[int]  # indices into ClaimResult.findings
    features_digest: str


@dataclass(slots=True)
class ClaimResult:
    claim_id: str
    claim_key: str  # salted hash of the claim id: what logs may show
    patient_key: str  # salted hash of the member id
    risk: float
    expected_denied: float
    lines: list[LineResult]
    findings: list[Finding]
    fixes: list[FixOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def actions(self) -> list[FixOutcome]:
        """The fixes sorted by dollars saved, largest first."""
        return sorted(self.fixes, key=lambda f: (-f.dollars_saved, f.finding))


@dataclass(frozen=True, slots=True)
class ClaimInput:
    """A claim to score, with column values that override the ones computed from it.

    Claims rebuilt from a line table (:func:`features.context.claims_from_frame`) have no birth date; the
    table's ``patient_age`` and ``is_dependent`` are passed here instead.
    """

    claim: Claim
    overrides: Mapping[str, Any] | None = None


class Scorer(Protocol):
    """What the routes and the batch command need from a scorer."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def predictor(self) -> str: ...

    def score(
        self,
        claims: Sequence[Claim | ClaimInput],
        *,
        authorizations: Iterable[Authorization] | None = None,
        explain: Explain = "auto",
        fixes: bool = True,
    ) -> list[ClaimResult]: ...

    def probe(self) -> bool: ...


def claim_risk(probabilities: Iterable[float]) -> float:
    """Probability that at least one line is denied, lines taken as independent: ``1 - prod(1 - p)``.

    >>> round(claim_risk([0.5, 0.5]), 2)
    0.75
    """
    survive = 1.0
    for p in probabilities:
        survive *= 1.0 - p
    return 1.0 - survive


def _digests(rows: np.ndarray) -> list[str]:
    """The first 16 hex digits of the SHA-256 of each row's bytes (the features digest of a line)."""
    data = np.ascontiguousarray(rows)
    width = data.shape[1] * data.itemsize if data.ndim == 2 else 0
    raw = data.tobytes()
    return [hashlib.sha256(raw[k : k + width]).hexdigest()[:16] for k in range(0, len(raw), width or 1)]


def _fix_key(fix: Fix) -> tuple[str, int | None, str]:
    return fix.action.value, fix.line, repr(fix.value)


class ModelScorer:
    """The :class:`Scorer` of a fitted :class:`~features.model.DenialModel`.

    ``explain_threshold``, ``explain_top_k`` and ``explain_min_risk`` choose the lines explained with
    ``explain="auto"``: every line with a finding, every line at or above the threshold, and the k riskiest
    lines of each claim among those at or above ``explain_min_risk`` (reasons for a line the model gives a
    1% risk would read as a warning a biller need not act on; ``explain="all"`` explains every line).

    >>> scorer = ModelScorer(model, info, salt="s")  # doctest: +SKIP
    >>> [result] = scorer.score([claim], authorizations=[])  # doctest: +SKIP
    >>> result.risk, result.lines[0].reasons[0].text  # doctest: +SKIP
    (0.62, 'No authorization on file for J9271 with this payer')
    """

    def __init__(
        self,
        model: DenialModel,
        info: ModelInfo,
        *,
        salt: str,
        payers: Mapping[str, PayerPolicy] | None = None,
        explain_threshold: float = 0.2,
        explain_top_k: int = 2,
        explain_min_risk: float = 0.05,
        reasons_per_line: int = 3,
    ) -> None:
        self.model = model
        self._info = info
        self.salt = salt
        self.payers = dict(payers) if payers is not None else payers_by_id()
        self.explain_threshold = explain_threshold
        self.explain_top_k = explain_top_k
        self.explain_min_risk = explain_min_risk
        self.reasons_per_line = reasons_per_line
        self.explainer = Explainer(model)
        self.iterations = int(model.best_iteration_)
        builder = model.builder_
        self.known_codes = set(builder.vocabularies_["procedure_code"]) | set(builder.code_attributes_)
        self._probe = make_claim()
        self._submitted = frozenset(INPUT_COLUMNS)  # what the builder reads
        self.forest: CompiledForest | None = None
        self.compile_note: str | None = None

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def predictor(self) -> str:
        """What makes the plain predictions: the compiled forest or LightGBM (and why not compiled)."""
        if self.forest is not None:
            return f"lleaves (compiled; within {self.forest.max_difference:.1g} of LightGBM on the check)"
        return "lightgbm" + (f" ({self.compile_note})" if self.compile_note else "")

    def use_compiled(self, cache: Path) -> bool:
        """Make plain predictions with the risk booster compiled by lleaves (:mod:`serving.compiled`),
        cached in ``cache``; when that cannot be done, keep LightGBM's and say why (``predictor``)."""
        try:
            self.forest = compile_forest(self.model.booster_, self.iterations, cache)
        except RuntimeError as e:
            self.forest, self.compile_note = None, str(e)
            logger.warning("plain predictions stay with LightGBM: %s", e)
            return False
        self.compile_note = None
        return True

    # --- the pieces ---------------------------------------------------------------------------------------

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        calibrator = self.model.calibrator_
        if isinstance(calibrator, IsotonicRegression):
            # What IsotonicRegression(out_of_bounds="clip").predict computes, without its input checks.
            return np.asarray(np.interp(raw, calibrator.X_thresholds_, calibrator.y_thresholds_))
        if isinstance(calibrator, LogisticRegression):
            # Platt scaling: what LogisticRegression.predict_proba computes for one feature.
            z = raw * float(calibrator.coef_[0, 0]) + float(calibrator.intercept_[0])
            return np.asarray(1.0 / (1.0 + np.exp(-z)))
        return self.model.calibrate(raw)

    def _annotate(
        self, claims: Sequence[Claim], auths: Mapping[tuple[str, str], list[Authorization]] | None
    ) -> tuple[dict[str, list[str]], list[list[Finding]]]:
        columns: dict[str, list[str]] = defaultdict(list)
        findings: list[list[Finding]] = []
        for claim in claims:
            on_file = (
                None if auths is None else auths.get((claim.payer.payer_id, claim.patient.member_id), [])
            )
            context, found = annotate_claims([claim], payers=self.payers, authorizations=on_file)
            for name, values in context.items():
                columns[name].extend(values)
            findings.append(found[0])
        return columns, findings

    def _matrix(
        self,
        claims: Sequence[Claim],
        overrides: Sequence[Mapping[str, Any] | None],
        context: Mapping[str, list[str]],
    ) -> np.ndarray:
        columns = submitted_columns(claims, salt=None, only=self._submitted)
        columns.update(context)
        # Each claim is its own group for the claim-level features, whatever its id.
        keys: list[str] = []
        for index, (claim, extra) in enumerate(zip(claims, overrides, strict=True)):
            keys.extend([str(index)] * len(claim.lines))
            if extra:
                start = len(keys) - len(claim.lines)
                for name, value in extra.items():
                    columns[name][start : len(keys)] = [value] * len(claim.lines)
        columns["claim_id"] = keys
        return self.model.builder_.transform_columns(columns)

    def _predict(self, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 0:
            return np.zeros(0)
        if self.forest is not None:
            raw = self.forest.predict_raw(matrix)
        else:
            raw = np.asarray(
                self.model.booster_.predict(
                    matrix, raw_score=True, num_iteration=self.iterations, num_threads=1
                )
            )
        return self._calibrate(raw)

    def _categories(self, matrix: np.ndarray) -> np.ndarray | None:
        booster = self.model.reason_booster_
        if booster is None or len(matrix) == 0:
            return None
        return np.asarray(booster.predict(matrix, num_threads=1)).reshape(len(matrix), -1)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP of the risk booster (log-odds; last column the bias), one thread."""
        return np.asarray(
            self.model.booster_.predict(
                matrix, pred_contrib=True, num_iteration=self.iterations, num_threads=1
            )
        )

    def _warnings(self, claim: Claim, authorizations_known: bool) -> list[str]:
        found: list[str] = []
        for line in claim.lines:
            if line.procedure_code not in self.known_codes:
                found.append(
                    f"line {line.line_number}: {line.procedure_code} is not in the model's reference tables "
                    "or training history; scored as an unknown code"
                )
        if claim.payer.payer_id not in self.payers:
            found.append(
                f"payer {claim.payer.payer_id} has no payer policy configured: its rules were not checked"
            )
        if not authorizations_known:
            found.append(
                "no authorizations on file were sent: prior-authorization checks were skipped "
                "(send an empty list to mean none on file)"
            )
        return found

    # --- scoring ------------------------------------------------------------------------------------------

    def score(
        self,
        claims: Sequence[Claim | ClaimInput],
        *,
        authorizations: Iterable[Authorization] | None = None,
        explain: Explain = "auto",
        fixes: bool = True,
        today: dt.date | None = None,
    ) -> list[ClaimResult]:
        """Score ``claims`` (each on its own); ``authorizations=None`` means not known (checks skipped)."""
        if not claims:
            return []
        inputs = [c if isinstance(c, ClaimInput) else ClaimInput(c) for c in claims]
        day = today or dt.date.today()
        # A claim not yet submitted is scored as if submitted today.
        originals = [
            i.claim
            if i.claim.submission_date is not None
            else i.claim.model_copy(update={"submission_date": max(day, i.claim.service_to)})
            for i in inputs
        ]
        auths: dict[tuple[str, str], list[Authorization]] | None = None
        if authorizations is not None:
            auths = defaultdict(list)
            for auth in authorizations:
                auths[(auth.payer_id, auth.member_id)].append(auth)
        context, findings = self._annotate(originals, auths)

        # The fixed variants: one per distinct fix of each claim.
        variants: list[Claim] = []
        variant_of: list[tuple[int, int]] = []  # (claim index, finding index)
        skipped: dict[int, list[str]] = defaultdict(list)
        if fixes:
            for index, (claim, found) in enumerate(zip(originals, findings, strict=True)):
                seen: set[tuple[str, int | None, str]] = set()
                for position, finding in enumerate(found):
                    if finding.fix is None or _fix_key(finding.fix) in seen:
                        continue
                    seen.add(_fix_key(finding.fix))
                    try:
                        variants.append(apply_fix(claim, finding.fix))
                    except (ValueError, ValidationError):
                        skipped[index].append(
                            f"the fix of {finding.rule_id} ({finding.fix.description}) could not be applied "
                            "to this claim; it was not re-scored"
                        )
                        continue
                    variant_of.append((index, position))
        variant_context, _ = self._annotate(variants, auths)
        for name, values in variant_context.items():
            context[name].extend(values)

        all_claims = [*originals, *variants]
        overrides = [i.overrides for i in inputs] + [inputs[c].overrides for c, _ in variant_of]
        matrix = self._matrix(all_claims, overrides, context)
        probability = self._predict(matrix)
        n_original = sum(len(c.lines) for c in originals)
        original_rows = matrix[:n_original]
        categories = self._categories(original_rows) if explain != "none" else None

        # Which lines to explain.
        starts = [0, *itertools.accumulate(len(c.lines) for c in originals)]
        explain_rows: list[int] = []
        if explain != "none":
            for index, claim in enumerate(originals):
                start = int(starts[index])
                p = probability[start : start + len(claim.lines)].tolist()
                if explain == "all":
                    explain_rows.extend(range(start, start + len(claim.lines)))
                    continue
                flagged = {n for f in findings[index] for n in f.lines}
                claim_wide = any(not f.lines for f in findings[index])
                chosen = {
                    k
                    for k, line in enumerate(claim.lines)
                    if claim_wide or line.line_number in flagged or p[k] >= self.explain_threshold
                }
                chosen.update(
                    k
                    for k in sorted(range(len(p)), key=lambda k: -p[k])[: self.explain_top_k]
                    if p[k] >= self.explain_min_risk
                )
                explain_rows.extend(start + k for k in sorted(chosen))
        contributions = self.contributions(original_rows[explain_rows]) if explain_rows else np.zeros((0, 0))
        grouped = self.explainer.group_contributions(contributions) if explain_rows else None
        explained = {row: k for k, row in enumerate(explain_rows)}

        names = self.model.categories_
        best: list[int] = []
        best_p: list[float] = []
        if categories is not None and len(names):
            best = categories.argmax(axis=1).tolist()
            best_p = categories[np.arange(len(categories)), best].tolist()
        digests = _digests(original_rows)
        p_all = probability[:n_original].tolist()
        results: list[ClaimResult] = []
        for index, claim in enumerate(originals):
            start = starts[index]
            found = findings[index]
            by_line: dict[int, list[int]] = defaultdict(list)
            for position, finding in enumerate(found):
                for number in finding.lines or [line.line_number for line in claim.lines]:
                    by_line[number].append(position)
            lines: list[LineResult] = []
            for k, line in enumerate(claim.lines):
                row = start + k
                category: str | None = None
                category_p: float | None = None
                if best:
                    category, category_p = str(names[best[row]]), best_p[row]
                reasons = None
                if row in explained and grouped is not None:
                    e = explained[row]
                    line_findings = [found[j] for j in by_line.get(line.line_number, [])]
                    reasons = self.explainer.reasons(
                        contributions[e],
                        original_rows[row],
                        line,
                        claim,
                        line_findings,
                        limit=self.reasons_per_line,
                        grouped=grouped[e],
                    )
                lines.append(
                    LineResult(
                        line_number=line.line_number,
                        procedure_code=line.procedure_code,
                        charge=float(line.charge),
                        probability=p_all[row],
                        category=category,
                        category_probability=category_p,
                        reasons=reasons,
                        findings=by_line.get(line.line_number, []),
                        features_digest=digests[row],
                    )
                )
            p_lines = [line.probability for line in lines]
            results.append(
                ClaimResult(
                    claim_id=claim.claim_id,
                    claim_key=hash_identifier(claim.claim_id, self.salt),
                    patient_key=hash_identifier(claim.patient.member_id, self.salt),
                    risk=claim_risk(p_lines),
                    expected_denied=float(
                        sum(p * line.charge for p, line in zip(p_lines, lines, strict=True))
                    ),
                    lines=lines,
                    findings=found,
                    warnings=[*self._warnings(inputs[index].claim, auths is not None), *skipped[index]],
                )
            )

        # The risk after each fix.
        row = n_original
        for variant, (index, position) in zip(variants, variant_of, strict=True):
            p = probability[row : row + len(variant.lines)]
            row += len(variant.lines)
            result = results[index]
            after = {line.line_number: float(q) for line, q in zip(variant.lines, p, strict=True)}
            finding = result.findings[position]
            assert finding.fix is not None
            touched = [*finding.lines, *([finding.fix.line] if finding.fix.line is not None else [])]
            expected_after = float(
                sum(float(q) * float(line.charge) for line, q in zip(variant.lines, p, strict=True))
            )
            result.fixes.append(
                FixOutcome(
                    finding=position,
                    fix=finding.fix,
                    line_risk_after={n: after.get(n) for n in dict.fromkeys(touched)},
                    claim_risk_after=claim_risk(float(q) for q in p),
                    expected_denied_after=expected_after,
                    dollars_saved=result.expected_denied - expected_after,
                )
            )
        return results

    def probe(self) -> bool:
        """Score a built-in sample claim: the model answers with finite probabilities."""
        try:
            [result] = self.score([self._probe], authorizations=[], explain="none", fixes=False)
        except Exception:  # readiness must answer, whatever went wrong
            return False
        return all(math.isfinite(line.probability) for line in result.lines)
