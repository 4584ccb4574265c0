"""``LineFeatureBuilder``: claim lines (the line table plus context) -> the feature matrix.

One implementation serves a million training lines and one 10-line claim at scoring time. It is array
code: every string column is factorized once and the per-value work (parsing modifiers, diagnoses, code
attributes) runs once per *distinct* value, then is gathered back with integer indexing; claim-level
counts use ``np.bincount`` over claim indices. Reference tables (drugs, payment limits, unit limits, NDC
crosswalk, administration codes) are indexed into dicts and arrays at ``fit``. The scikit-learn face is
thin: ``fit``/``transform`` take a DataFrame; :meth:`LineFeatureBuilder.transform_columns` takes plain
column lists (what the scoring service builds from claims) and runs the same code.

Inputs are the submitted columns of the line table (:data:`claims.ingest.SUBMITTED_COLUMNS`) and the
context columns (:data:`features.context.CONTEXT_COLUMNS`). ``fit`` also reads ``label_denied``,
``label_category`` and ``outcome_received_date`` of the training rows, only to build the point-in-time
history (:mod:`features.history`); ``transform`` never reads an outcome column.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from claims.enums import DrugClass
from claims.reference import load_admin_codes, load_drugs, load_ndc_crosswalk, payment_limit, unit_limit
from features.catalogue import MODIFIER_FLAGS, FeatureSpec, catalogue
from features.context import AUTH_STATUSES, rule_ids
from features.history import PointInTimeRates, query_groups, smoothed_rate

__all__ = ["INPUT_COLUMNS", "LABEL_COLUMNS", "LineFeatureBuilder", "column_days"]

#: The columns ``transform`` reads.
INPUT_COLUMNS: tuple[str, ...] = (
    "claim_id", "submission_date", "form", "frequency_code", "payer_id", "plan_type", "patient_age",
    "is_dependent", "place_of_service", "type_of_bill", "diagnoses", "principal_diagnosis", "condition_codes",
    "clinical_trial_number", "claim_prior_authorization", "claim_service_from", "claim_service_to",
    "claim_total_charge", "claim_line_count", "line_number", "procedure_code", "modifiers", "units",
    "line_charge", "service_date", "revenue_code", "ndc", "line_prior_authorization",
    "audit_rules", "audit_errors", "auth_status",
)  # fmt: skip

#: What ``fit`` reads besides the inputs, for the point-in-time history only.
LABEL_COLUMNS: tuple[str, ...] = ("label_denied", "label_category", "outcome_received_date")

_EM_CODES = frozenset(
    {"99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215", "G0463"}
)
_INVESTIGATIONAL = frozenset({"J9999", "J3490", "J3590", "C9399"})
_ROLES = ("initial", "add_on", "concurrent", "standalone")
_CLASSES = tuple(c.value for c in DrugClass)
_EPOCH = dt.date(1970, 1, 1)
#: Up to this many lines, per-value work runs on every value instead of on the distinct values.
_SMALL = 64
#: Before any outcome has arrived: published all-payer denial rates (oncology-billing.md 5.4 ranges).
_PRIOR_RATE = 0.10
_PRIOR_AUTH_RATE = 0.02
_HISTORY_FEATURES = (
    "hist_payer_rate",
    "hist_payer_code_rate",
    "hist_payer_code_n",
    "hist_payer_class_rate",
    "hist_payer_code_auth_rate",
)
_FIRST_QUARTER = 2020 * 4  # payment limits are tabulated per quarter from 2020Q1 ...
_QUARTERS = 12 * 4  # ... to 2031Q4 (the loader interpolates and holds the ends)
#: Day number (since 1970-01-01) of the first day of each of those quarters.
_QUARTER_STARTS = np.array(
    [
        (dt.date(year, month, 1) - dt.date(1970, 1, 1)).days
        for year in range(2020, 2032)
        for month in (1, 4, 7, 10)
    ],
    dtype=np.float64,
)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    return "" if _is_missing(value) else str(value)


@dataclass(frozen=True)
class Factorized:
    """A column already split into integer codes and its distinct values (missing as ``None``)."""

    codes: np.ndarray
    uniques: list[Any]

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def of(cls, series: pd.Series, *, values_needed: bool = True) -> Factorized:
        """Factorize a pandas column (Arrow strings are dictionary-encoded in C). Without
        ``values_needed`` only the codes are kept (e.g. claim ids, used only to group lines)."""
        codes, uniques = series.factorize(use_na_sentinel=True)
        values: list[Any] = list(uniques) if values_needed else [None] * len(uniques)
        codes = codes.astype(np.int64, copy=False)
        if (codes < 0).any():
            codes = np.where(codes < 0, len(values), codes)
            values.append(None)
        return cls(codes, values)


def _factorize(values: np.ndarray | Factorized) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (first-appearance order) and the distinct values; missing values are one value."""
    if isinstance(values, Factorized):
        return values.codes, values.uniques
    if len(values) > 64:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        return codes.astype(np.int64, copy=False), list(uniques)
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    seen: dict[Any, int] = {}
    found = [seen.setdefault(value, len(seen)) for value in items]
    if any(isinstance(value, float) and math.isnan(value) for value in seen):  # NaNs differ as keys: redo
        seen = {}
        found = [seen.setdefault(None if _is_missing(value) else value, len(seen)) for value in items]
    return np.array(found, dtype=np.int64), list(seen)


def _per_value(
    values: np.ndarray | Factorized,
    function: Callable[[Any], Any],
    width: int = 0,
    memo: dict[Any, Any] | None = None,
) -> np.ndarray:
    """``function`` of each value, computed once per distinct value (float64; 2-D when ``width``).

    Small inputs (one claim at scoring time) skip the factorizing: looking each of a few values up in
    ``memo`` (results of earlier calls, kept by the fitted builder) or calling ``function`` on it is
    cheaper than finding the distinct ones.
    """
    if not isinstance(values, Factorized) and len(values) <= _SMALL:
        if memo is None:
            rows = [function(None if _is_missing(v) else v) for v in values]
        else:
            rows = _remembered_rows(memo, values, function)
        if not rows:
            return np.zeros((0, width) if width else 0)
        return np.array(rows, dtype=np.float64)
    codes, uniques = _factorize(values)
    table = np.array([function(None if _is_missing(u) else u) for u in uniques], dtype=np.float64)
    if width and table.size == 0:
        table = table.reshape(0, width)
    return table[codes] if len(uniques) else np.zeros((len(values), width) if width else len(values))


#: At most this many values are remembered per feature function (then it starts afresh).
_MEMO_SIZE = 4096
_ABSENT = object()


def _remembered_rows(memo: dict[Any, Any], values: np.ndarray, function: Callable[[Any], Any]) -> list[Any]:
    """``function`` of each value, from ``memo`` when it was computed before.

    Strings and dates are remembered by value; other values by (type, value), since ``1``, ``1.0`` and
    ``True`` are equal keys that may give different results; missing values share the key ``None``.
    """
    get = memo.get
    try:
        rows = [get(v, _ABSENT) for v in values]  # only strings, dates and None can be found this way
    except TypeError:  # an unhashable value
        return [function(None if _is_missing(v) else v) for v in values]
    for i, row in enumerate(rows):
        if row is _ABSENT:
            rows[i] = _remember(memo, values[i], function)
    return rows


def _remember(memo: dict[Any, Any], value: Any, function: Callable[[Any], Any]) -> Any:
    missing = _is_missing(value)
    key = None if missing else value if isinstance(value, str | dt.date) else (type(value), value)
    found = memo.get(key, _ABSENT)
    if found is _ABSENT:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        found = memo[key] = function(None if missing else value)
    return found


def column_days(values: np.ndarray | Factorized, memo: dict[Any, Any] | None = None) -> np.ndarray:
    """Day numbers since 1970-01-01 (float, NaN when missing) of dates, datetimes or datetime64 values."""
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        days = values.astype("datetime64[D]")
        out = days.astype(np.int64).astype(np.float64)
        out[np.isnat(days)] = np.nan
        return out

    def day(value: Any) -> float:
        if value is None or value is pd.NaT:
            return math.nan
        if isinstance(value, pd.Timestamp | dt.datetime):
            value = value.date()
        return float((value - _EPOCH).days)

    return _per_value(values, day, memo=memo)


class LineFeatureBuilder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Claim lines -> float32 feature matrix (columns: :meth:`get_feature_names_out`).

    ``min_code_count``: codes seen fewer times in training share one "other" category.
    ``history_weight``: pseudo-count of the smoothing of history rates toward their prior.

    >>> builder = LineFeatureBuilder().fit(train_frame)  # doctest: +SKIP
    >>> matrix = builder.transform(lines_frame)  # doctest: +SKIP
    """

    def __init__(self, min_code_count: int = 20, history_weight: float = 30.0) -> None:
        self.min_code_count = min_code_count
        self.history_weight = history_weight

    # --- fitting ------------------------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any = None) -> LineFeatureBuilder:
        missing = [c for c in INPUT_COLUMNS if c not in X.columns]
        if missing:
            raise ValueError(f"the line table lacks the columns {', '.join(missing)}")
        self._memos: dict[str, dict[Any, Any]] = {}
        self.__dict__.pop("_rule_positions", None)
        self.rule_ids_ = rule_ids()
        self.specs_ = catalogue(self.rule_ids_)
        self.feature_names_in_ = np.array(INPUT_COLUMNS, dtype=object)
        self.n_features_in_ = len(INPUT_COLUMNS)
        codes = X["procedure_code"].astype(object).to_numpy()
        counts = Counter(codes.tolist())
        self.vocabularies_: dict[str, dict[str, int]] = {
            "procedure_code": _vocabulary(c for c, n in counts.items() if n >= self.min_code_count),
            "drug_class": _vocabulary(_CLASSES),
            "admin_role": _vocabulary(_ROLES),
            "auth_status": _vocabulary(AUTH_STATUSES),
        }
        for column in ("payer_id", "plan_type", "place_of_service", "type_of_bill", "revenue_code"):
            self.vocabularies_[column] = _vocabulary(
                v for v in pd.unique(X[column].astype(object).to_numpy()) if not _is_missing(v)
            )
        self.vocabularies_["neoplasm_site"] = _vocabulary(
            {_neoplasm_site(_text(d)) for d in pd.unique(X["diagnoses"].astype(object).to_numpy())} - {""}
        )
        units = X["units"].to_numpy(dtype=np.float64)
        waste = _per_value(X["modifiers"].astype(object).to_numpy(), lambda m: "JW" in _text(m).split("|"))
        typical = pd.Series(units[waste == 0]).groupby(codes[waste == 0]).median()
        self.typical_units_: dict[str, float] = {str(k): float(v) for k, v in typical.items()}
        self._fit_reference()
        self._fit_history(X)
        return self

    def _fit_reference(self) -> None:
        drugs = load_drugs()
        admin = load_admin_codes()
        self.drug_rows_: dict[str, int] = {code: i for i, code in enumerate(sorted(drugs))}
        limits = np.full((len(self.drug_rows_), _QUARTERS), np.nan)
        for code, row in self.drug_rows_.items():
            for q in range(_QUARTERS):
                year, quarter = divmod(_FIRST_QUARTER + q, 4)
                value = payment_limit(code, dt.date(year, quarter * 3 + 1, 1))
                if value is not None:
                    limits[row, q] = float(value)
        self.payment_limits_ = limits
        self.code_attributes_: dict[str, tuple[float, ...]] = {}
        for code in {*drugs, *admin, *_EM_CODES}:
            self.code_attributes_[code] = self._attributes(code)
        self.ndc_hcpcs_: dict[str, str] = {ndc: p.hcpcs for ndc, p in load_ndc_crosswalk().items()}
        self.label_families_: dict[str, tuple[str, ...]] = {
            code: d.icd10_families
            for code, d in drugs.items()
            if d.complex_administration and d.icd10_families
        }

    def _attributes(self, code: str) -> tuple[float, ...]:
        """(is_drug, drug class, single_dose, admin role, is_em, unit limit, drug row, investigational)."""
        drug = load_drugs().get(code)
        admin = load_admin_codes().get(code)
        limit = unit_limit(code)
        return (
            float(drug is not None),
            float(self.vocabularies_["drug_class"].get(drug.drug_class.value, 0)) if drug else 0.0,
            float(drug is not None and drug.needs_waste_modifier),
            float(self.vocabularies_["admin_role"].get(admin.role.value, 0)) if admin else 0.0,
            float(code in _EM_CODES),
            float(limit) if limit else math.nan,
            float(self.drug_rows_[code]) if drug else -1.0,
            float(code in _INVESTIGATIONAL),
        )

    def _history_keys(
        self, payer: Any, code: Any, attributes: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        if attributes is None:
            attributes = self._code_table(code)
        kind = np.where(attributes[:, 0] > 0, attributes[:, 1], -1 - attributes[:, 3] - 10 * attributes[:, 4])
        payers, codes = self.history_payers_, self.history_codes_
        payer_codes = _per_value(payer, lambda v: payers.get(_text(v), -1), memo=self._memo("history_payer"))
        payer_codes = payer_codes.astype(np.int64)
        code_codes = _per_value(code, lambda v: codes.get(_text(v), -1), memo=self._memo("history_code"))
        code_codes = code_codes.astype(np.int64)
        n_codes = len(self.history_codes_) + 1
        return {
            "payer": payer_codes,
            "payer_code": np.where(
                (payer_codes >= 0) & (code_codes >= 0), payer_codes * n_codes + code_codes, -1
            ),
            "payer_class": np.where(payer_codes >= 0, payer_codes * 64 + (kind.astype(np.int64) + 32), -1),
        }

    def _fit_history(self, X: pd.DataFrame) -> None:
        labeled = (
            X["label_denied"].notna().to_numpy().copy() if "label_denied" in X else np.zeros(len(X), bool)
        )
        if "outcome_received_date" in X:
            received = column_days(X["outcome_received_date"].to_numpy())
            labeled &= ~np.isnan(received)
        else:
            received = np.zeros(len(X))
        payer = X["payer_id"].astype(object).to_numpy()
        code = X["procedure_code"].astype(object).to_numpy()
        self.history_payers_ = _vocabulary(pd.unique(payer), start=0)
        self.history_codes_ = _vocabulary(pd.unique(code), start=0)
        denied = X["label_denied"].to_numpy()[labeled].astype(np.float64) if labeled.any() else np.zeros(0)
        category = X["label_category"].astype(object).to_numpy()[labeled] if labeled.any() else np.zeros(0)
        auth = (category == "authorization").astype(np.float64)
        keys = self._history_keys(payer[labeled], code[labeled])
        days = received[labeled]
        self.history_: dict[str, PointInTimeRates] = {
            name: PointInTimeRates().fit(k, days, denied) for name, k in keys.items()
        }
        self.history_["payer_code_auth"] = PointInTimeRates().fit(keys["payer_code"], days, auth)
        # The priors are point in time too: a rate over all payers, from outcomes received before the day.
        everyone = np.zeros(len(days), dtype=np.int64)
        self.history_["all"] = PointInTimeRates().fit(everyone, days, denied)
        self.history_["all_auth"] = PointInTimeRates().fit(everyone, days, auth)

    # --- remembered per-value results (small inputs) --------------------------------------------------

    def _memo(self, name: str) -> dict[Any, Any]:
        """Results of one per-value function for earlier small inputs; not pickled, emptied by ``fit``."""
        memos: dict[str, dict[Any, Any]] = self.__dict__.setdefault("_memos", {})
        return memos.setdefault(name, {})

    def _rule_index(self) -> dict[str, int]:
        index: dict[str, int] | None = self.__dict__.get("_rule_positions")
        if index is None:
            index = self.__dict__["_rule_positions"] = {rule: k for k, rule in enumerate(self.rule_ids_)}
        return index

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state.pop("_memos", None)
        state.pop("_rule_positions", None)
        return state

    # --- transforming -------------------------------------------------------------------------------------

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([s.name for s in self.specs_], dtype=object)

    @property
    def categorical_features_(self) -> list[int]:
        """Indices of the categorical features (integer codes, 0 = other/unknown)."""
        return [i for i, s in enumerate(self.specs_) if s.categorical]

    @property
    def feature_specs_(self) -> list[FeatureSpec]:
        return list(self.specs_)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in INPUT_COLUMNS if c not in X.columns]
        if missing:
            raise ValueError(f"the line table lacks the columns {', '.join(missing)}")
        columns: dict[str, Any] = {}
        for name in INPUT_COLUMNS:
            series = X[name]
            columns[name] = (
                series.to_numpy()
                if series.dtype.kind in "fiubM"
                else Factorized.of(series, values_needed=name != "claim_id")
            )
        return self._transform(columns)

    def transform_columns(self, columns: Mapping[str, Sequence[Any]]) -> np.ndarray:
        """The same matrix from plain column lists (e.g. :func:`claims.ingest.submitted_columns` plus the
        context columns): no DataFrame on the scoring path."""
        arrays: dict[str, np.ndarray] = {}
        for name in INPUT_COLUMNS:
            values = columns[name]
            if name in _FLOAT_COLUMNS:
                arrays[name] = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
            else:
                array = np.empty(len(values), dtype=object)
                array[:] = list(values)
                arrays[name] = array
        return self._transform(arrays)

    def _code_table(self, codes: Any) -> np.ndarray:
        get = self.code_attributes_.get
        blank = (0.0, 0.0, 0.0, 0.0, 0.0, math.nan, -1.0, 0.0)
        return _per_value(codes, lambda c: get(_text(c), blank), 8, self._memo("code_table"))

    def _transform(self, c: Mapping[str, Any]) -> np.ndarray:
        n = len(c["procedure_code"])
        out: dict[str, np.ndarray] = {}
        voc = self.vocabularies_
        code = c["procedure_code"]
        attributes = self._code_table(code)
        is_drug, single_dose, is_em = attributes[:, 0], attributes[:, 2], attributes[:, 4]
        out["procedure_code"] = _encode(code, voc["procedure_code"], self._memo("procedure_code"))
        out["drug_class"] = attributes[:, 1]
        out["is_drug"] = is_drug
        out["single_dose"] = single_dose
        out["admin_role"] = attributes[:, 3]
        is_admin = attributes[:, 3] > 0
        out["is_em"] = is_em
        out["revenue_code"] = _encode(c["revenue_code"], voc["revenue_code"], self._memo("revenue_code"))
        out["line_number"] = np.asarray(c["line_number"], dtype=np.float64)
        # modifiers
        flags = _per_value(c["modifiers"], _modifier_flags, len(MODIFIER_FLAGS) + 1, self._memo("modifiers"))
        for k, name in enumerate(MODIFIER_FLAGS):
            out[f"mod_{name}"] = flags[:, k]
        out["modifier_count"] = flags[:, -1]
        jw, jz, mod25 = flags[:, 0], flags[:, 1], flags[:, 2]
        # claim-level groups: one claim = claim id + submission date
        submitted = column_days(c["submission_date"], self._memo("days"))
        claim_index, _ = _factorize(_claim_keys(c["claim_id"], submitted))
        n_claims = int(claim_index.max()) + 1 if n else 0
        code_index, code_values = _factorize(code)
        pair, _ = _factorize(claim_index * (int(code_index.max()) + 1 if n else 1) + code_index)
        jw_line_for_drug = np.bincount(pair, weights=jw, minlength=int(pair.max()) + 1 if n else 0)[pair] > 0
        out["waste_modifier_missing"] = (single_dose > 0) & (jw + jz == 0) & ~jw_line_for_drug
        admin_on_claim = np.bincount(claim_index, weights=is_admin, minlength=n_claims)[claim_index] > 0
        out["em_without_25_on_admin_day"] = (is_em > 0) & (mod25 == 0) & admin_on_claim
        # units and money
        units = c["units"].astype(np.float64)
        out["units"] = units
        out["units_over_limit"] = units / attributes[:, 5]
        typical = _per_value(
            code, lambda v: self.typical_units_.get(_text(v), math.nan), memo=self._memo("typical")
        )
        out["units_vs_typical"] = units / typical
        service = column_days(c["service_date"], self._memo("days"))
        limit = self._payment_limit(attributes[:, 6], service)
        charge = c["line_charge"].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["charge_per_unit_vs_limit"] = np.where(units > 0, charge / units, np.nan) / limit
        out["log_expected_allowed"] = np.log1p(np.where(np.isnan(limit), 0.0, units * limit))
        out["log_line_charge"] = np.log1p(charge)
        ndc_present = _per_value(c["ndc"], lambda v: bool(_text(v)), memo=self._memo("ndc_present"))
        out["ndc_present"] = ndc_present
        ndc_code = _per_value(c["ndc"], lambda v: self._ndc_code(_text(v)), memo=self._memo("ndc_code"))
        # -1: the NDC is not in the crosswalk (unknown); else whether its HCPCS is the line's code
        out["ndc_matches"] = np.where(
            (ndc_present > 0) & (ndc_code != -1), ndc_code == attributes[:, 6], np.nan
        )
        # claim
        out["payer_id"] = _encode(c["payer_id"], voc["payer_id"], self._memo("payer_id"))
        out["plan_type"] = _encode(c["plan_type"], voc["plan_type"], self._memo("plan_type"))
        out["institutional"] = _per_value(c["form"], lambda v: v == "institutional", memo=self._memo("form"))
        out["place_of_service"] = _encode(
            c["place_of_service"], voc["place_of_service"], self._memo("place_of_service")
        )
        out["type_of_bill"] = _encode(c["type_of_bill"], voc["type_of_bill"], self._memo("type_of_bill"))
        out["claim_line_count"] = c["claim_line_count"].astype(np.float64)
        out["claim_drug_lines"] = np.bincount(claim_index, weights=is_drug, minlength=n_claims)[claim_index]
        out["log_claim_charge"] = np.log1p(c["claim_total_charge"].astype(np.float64))
        out["replacement"] = _per_value(
            c["frequency_code"], lambda v: _text(v) in ("7", "8"), memo=self._memo("frequency")
        )
        out["patient_age"] = c["patient_age"].astype(np.float64)
        out["is_dependent"] = _truthy(c["is_dependent"])
        # diagnoses
        dx = _per_value(c["diagnoses"], lambda v: self._diagnoses(_text(v)), 7, self._memo("diagnoses"))
        out["neoplasm_site"] = dx[:, 0]
        out["dx_count"] = dx[:, 1]
        out["dx_z51_11"] = dx[:, 2]
        out["dx_z51_12"] = dx[:, 3]
        out["dx_z51_first"] = _per_value(
            c["principal_diagnosis"], lambda v: _text(v).startswith("Z51.1"), memo=self._memo("principal")
        )
        out["dx_metastatic"] = dx[:, 4]
        dx_index, dx_values = _factorize(c["diagnoses"])
        width = len(dx_values) + 1
        pairs, inverse = np.unique(code_index * width + dx_index, return_inverse=True)
        label_memo = self._memo("label_match")
        match = np.array(
            [
                self._label_match(_text(code_values[p // width]), _text(dx_values[p % width]), label_memo)
                for p in pairs.tolist()
            ],
            dtype=np.float64,
        )
        out["dx_label_match"] = match[inverse.reshape(-1)] if len(pairs) else np.zeros(n)
        # trials
        out["trial_nct"] = _per_value(
            c["clinical_trial_number"], lambda v: bool(_text(v)), memo=self._memo("present")
        )
        out["trial_z00_6"] = dx[:, 5]
        out["trial_condition_30"] = _per_value(
            c["condition_codes"], lambda v: "30" in _text(v).split("|"), memo=self._memo("condition_30")
        )
        out["investigational_code"] = attributes[:, 7]
        # timing
        claim_from = column_days(c["claim_service_from"], self._memo("days"))
        out["days_to_submission"] = submitted - claim_from
        out["service_span_days"] = column_days(c["claim_service_to"], self._memo("days")) - claim_from
        # authorization
        status = _encode(c["auth_status"], voc["auth_status"], self._memo("auth_status"))
        for k, name in enumerate(AUTH_STATUSES, start=1):
            out[f"auth_{name}"] = (status == k).astype(np.float64)
        out["auth_number_on_claim"] = np.maximum(
            _per_value(c["claim_prior_authorization"], lambda v: bool(_text(v)), memo=self._memo("present")),
            _per_value(c["line_prior_authorization"], lambda v: bool(_text(v)), memo=self._memo("present")),
        )
        # audit
        out["audit_errors"] = _per_value(
            c["audit_errors"], lambda v: float(_text(v) or 0), memo=self._memo("audit_errors")
        )
        index = self._rule_index()
        rules = _per_value(
            c["audit_rules"], lambda v: _rule_flags(_text(v), index), len(index), self._memo("audit_rules")
        )
        for k, rule_id in enumerate(self.rule_ids_):
            out[f"audit_{rule_id}"] = rules[:, k]
        # history, point in time: outcomes received strictly before the submission date
        self._history(c, submitted, out, attributes)
        if n > _SMALL:
            matrix = np.empty((n, len(self.specs_)), dtype=np.float32)
            for k, spec in enumerate(self.specs_):
                matrix[:, k] = out[spec.name]
            return matrix
        return np.array([out[spec.name] for spec in self.specs_], dtype=np.float32).T.copy()

    def _history(
        self,
        c: Mapping[str, np.ndarray],
        submitted: np.ndarray,
        out: dict[str, np.ndarray],
        attributes: np.ndarray,
    ) -> None:
        """The point-in-time history features (:data:`_HISTORY_FEATURES`). A small input (one claim)
        looks each (payer, code, class, day) up among the ones computed before, since a scoring service
        sees the same few again and again, and computes only the new ones."""
        keys = self._history_keys(c["payer_id"], c["procedure_code"], attributes)
        day = np.where(np.isnan(submitted), 0.0, submitted)
        if len(day) > _SMALL:
            table = self._history_rates(keys, day)
        else:
            memo = self._memo("history")
            stamps = list(zip(keys["payer"].tolist(), keys["payer_code"].tolist(), keys["payer_class"].tolist(),
                              day.tolist(), strict=True))  # fmt: skip
            rows = [memo.get(stamp) for stamp in stamps]
            new = [i for i, row in enumerate(rows) if row is None]
            if new:
                at = np.array(new, dtype=np.int64)
                computed = self._history_rates({name: k[at] for name, k in keys.items()}, day[at])
                if len(memo) + len(new) > _MEMO_SIZE:
                    memo.clear()
                for i, row in zip(new, computed.tolist(), strict=True):
                    rows[i] = memo[stamps[i]] = row
            table = np.array(rows, dtype=np.float64).reshape(len(day), len(_HISTORY_FEATURES))
        for k, name in enumerate(_HISTORY_FEATURES):
            out[name] = table[:, k]

    def _history_rates(self, keys: Mapping[str, np.ndarray], day: np.ndarray) -> np.ndarray:
        """One row per query, one column per history feature (:data:`_HISTORY_FEATURES` order)."""
        weight = self.history_weight
        everyone = np.zeros(len(day), dtype=np.int64)
        all_groups = query_groups(everyone, day)
        code_groups = query_groups(keys["payer_code"], day)
        n_all, d_all = self.history_["all"].counts(everyone, day, all_groups)
        prior = smoothed_rate(n_all, d_all, _PRIOR_RATE, weight)
        n_all_auth, d_all_auth = self.history_["all_auth"].counts(everyone, day, all_groups)
        prior_auth = smoothed_rate(n_all_auth, d_all_auth, _PRIOR_AUTH_RATE, weight)
        n_payer, d_payer = self.history_["payer"].counts(keys["payer"], day)
        payer_rate = smoothed_rate(n_payer, d_payer, prior, weight)
        n_code, d_code = self.history_["payer_code"].counts(keys["payer_code"], day, code_groups)
        n_class, d_class = self.history_["payer_class"].counts(keys["payer_class"], day)
        n_auth, d_auth = self.history_["payer_code_auth"].counts(keys["payer_code"], day, code_groups)
        return np.column_stack(
            [
                payer_rate,
                smoothed_rate(n_code, d_code, payer_rate, weight),
                np.log1p(n_code),
                smoothed_rate(n_class, d_class, payer_rate, weight),
                smoothed_rate(n_auth, d_auth, prior_auth, weight),
            ]
        )

    def _payment_limit(self, rows: np.ndarray, days: np.ndarray) -> np.ndarray:
        known = ~np.isnan(days)
        after = np.searchsorted(_QUARTER_STARTS, np.where(known, days, 0.0), side="right") - 1
        quarter = np.where(known, np.clip(after, 0, _QUARTERS - 1), 0)
        result = np.full(len(rows), np.nan)
        drug = rows >= 0
        result[drug] = self.payment_limits_[rows[drug].astype(np.int64), quarter[drug]]
        return result

    def _ndc_code(self, ndc: str) -> float:
        hcpcs = self.ndc_hcpcs_.get(ndc.replace("-", ""))
        if hcpcs is None:
            return -1.0
        return float(self.drug_rows_.get(hcpcs, -2))

    def _diagnoses(self, diagnoses: str) -> tuple[float, ...]:
        codes = diagnoses.split("|") if diagnoses else []
        site = self.vocabularies_["neoplasm_site"].get(_neoplasm_site(diagnoses), 0)
        return (
            float(site),
            float(len(codes)),
            float("Z51.11" in codes),
            float("Z51.12" in codes),
            float(any(d[:3] in ("C77", "C78", "C79") for d in codes)),
            float("Z00.6" in codes),
            0.0,
        )

    def _label_match(self, code: str, diagnoses: str, memo: dict[Any, Any] | None = None) -> float:
        key = (code, diagnoses)
        found = memo.get(key) if memo is not None else None
        if found is not None:
            return float(found)
        families = self.label_families_.get(code)
        if not families:
            found = math.nan
        else:
            undotted = [d.replace(".", "") for d in diagnoses.split("|") if d]
            found = float(any(d.startswith(f) for d in undotted for f in families))
        if memo is not None:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = found
        return found


_FLOAT_COLUMNS = frozenset({"patient_age", "claim_total_charge", "claim_line_count", "line_number", "units",
                            "line_charge"})  # fmt: skip


def _vocabulary(values: Any, start: int = 1) -> dict[str, int]:
    """Value -> code, sorted for stable codes; 0 is kept for "other / unknown" when ``start`` is 1."""
    return {v: i for i, v in enumerate(sorted({str(v) for v in values}), start=start)}


def _encode(
    values: np.ndarray, vocabulary: Mapping[str, int], memo: dict[Any, Any] | None = None
) -> np.ndarray:
    return _per_value(values, lambda v: float(vocabulary.get(_text(v), 0)), memo=memo)


def _truthy(values: np.ndarray | Factorized) -> np.ndarray:
    """1.0 where a value is true (missing values are not), as float."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "bfiu":
        return (
            np.where(np.isnan(values), 0.0, values != 0) if values.dtype.kind == "f" else (values != 0) * 1.0
        )
    return _per_value(values, bool)


def _claim_keys(claim_ids: np.ndarray, days: np.ndarray) -> np.ndarray:
    ids, _ = _factorize(claim_ids)
    keys: np.ndarray = ids * 200_000 + np.where(np.isnan(days), 0.0, days).astype(np.int64)
    return keys


def _modifier_flags(value: Any) -> tuple[float, ...]:
    modifiers = set(_text(value).split("|")) - {""}
    return (*(float(bool(modifiers.intersection(m))) for m in MODIFIER_FLAGS.values()), float(len(modifiers)))


def _rule_flags(value: str, index: Mapping[str, int]) -> list[float]:
    flags = [0.0] * len(index)
    for rule_id in value.split("|") if value else ():
        k = index.get(rule_id)
        if k is not None:
            flags[k] = 1.0
    return flags


def _neoplasm_site(diagnoses: str) -> str:
    for code in diagnoses.split("|") if diagnoses else ():
        if code[:1] == "C" or code[:2] in ("D0", "D3", "D4"):
            return code[:3]
    return ""
