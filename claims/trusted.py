"""Domain objects built from values already known to be valid, without pydantic validation.

The simulator makes millions of :mod:`claims.model` objects (lines, claims, outcomes, adjustments) whose
values it computed from its own validated data files, and the audit context rebuilds claims from our own
line tables (:func:`features.context.claims_from_frame`); validating each again was a quarter of the
simulator's run time. :func:`trusted` builds the same object that validation would (fields in declaration
order, the defaults of the fields not given, ``model_fields_set``), as pydantic's ``model_construct`` does
but with the per-class work done once. Values must already be in their validated form (``Decimal`` money,
enum members, dotted ICD-10 codes, 11-digit NDCs, nested models as model instances):
``tests/claims/test_simulate.py`` re-validates every object of a simulated run and checks that nothing
changes, and ``tests/features`` compares the claims rebuilt from a table with validated ones.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from claims.enums import AdjustmentGroup
from claims.model import Adjustment

__all__ = ["builder", "trusted", "trusted_adjustment"]

M = TypeVar("M", bound=BaseModel)

#: (model class, field names given, in the order given) -> how to build such an object: every field in
#: declaration order with its default (the given values overwrite theirs), the default factories to call
#: for the fields not given, and the ``model_fields_set`` those objects share.
_PLANS: dict[
    tuple[type[Any], tuple[str, ...]], tuple[dict[str, Any], tuple[tuple[str, Any], ...], set[str]]
] = {}


# BaseModel's own slots, set directly (``object.__setattr__`` on each costs more than the rest together).
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _plan(
    model_class: type[BaseModel], names: tuple[str, ...]
) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...], set[str]]:
    if model_class.__private_attributes__ or model_class.__pydantic_post_init__ is not None:
        raise TypeError(f"{model_class.__name__} has private attributes or a post-init hook")
    fields = model_class.model_fields
    unknown = sorted(set(names) - set(fields))
    if unknown:
        raise TypeError(f"{model_class.__name__}: unknown fields {unknown}")
    template: dict[str, Any] = {}
    factories: list[tuple[str, Any]] = []
    for name, info in fields.items():
        template[name] = None
        if name in names:
            continue
        if info.default_factory is not None:
            factories.append((name, info.default_factory))
        elif info.is_required():
            raise TypeError(f"{model_class.__name__}: missing required field {name!r}")
        else:
            template[name] = info.default
    plan = _PLANS[(model_class, names)] = (template, tuple(factories), set(names))
    return plan


def trusted(model_class: type[M], /, **values: Any) -> M:
    """``model_class(**values)`` without validation, for values the simulator already trusts.

    Objects made with the same field names share one ``model_fields_set`` (a set of up to 14 names costs
    200-700 bytes, per object, for millions of objects); the simulator never assigns to a field of a
    domain object, which is what would change it (``model_copy`` copies the set).

    >>> trusted(Diagnosis, code="C34.90")  # doctest: +SKIP
    """
    names = tuple(values)
    plan = _PLANS.get((model_class, names))
    if plan is None:
        plan = _plan(model_class, names)
    template, factories, fields_set = plan
    ordered = template.copy()
    ordered.update(values)
    for name, factory in factories:
        ordered[name] = factory()
    model = model_class.__new__(model_class)
    _set_dict(model, ordered)
    _set_fields_set(model, fields_set)
    _set_extra(model, None)
    _set_private(model, None)
    return model


def trusted_adjustment(group: AdjustmentGroup, reason_code: str, amount: Decimal) -> Adjustment:
    """``trusted(Adjustment, group=..., reason_code=..., amount=...)``, faster (a run makes millions)."""
    model = _new_adjustment(Adjustment)
    _set_dict(model, {"group": group, "reason_code": reason_code, "amount": amount, "quantity": None})
    _set_fields_set(model, _ADJUSTMENT_FIELDS)
    _set_extra(model, None)
    _set_private(model, None)
    return model


_new_adjustment = Adjustment.__new__
_ADJUSTMENT_FIELDS = _plan(Adjustment, ("group", "reason_code", "amount"))[2]


def builder(model_class: type[M], given: tuple[str, ...]) -> Callable[[dict[str, Any]], M]:
    """A faster :func:`trusted` for the objects a run makes millions of: the returned function makes a
    ``model_class`` object from a dict holding *every* field, in declaration order (the caller writes the
    defaults of the fields it does not give; the dict becomes the object's own), with the
    ``model_fields_set`` of ``given``, as ``trusted(model_class, **{name: ... for name in given})`` would.
    ``tests/claims/test_simulate.py`` re-validates the objects of a run and compares them field by field.
    """
    fields_set = (_PLANS.get((model_class, given)) or _plan(model_class, given))[2]
    new = model_class.__new__

    def build(values: dict[str, Any]) -> M:
        model = new(model_class)
        _set_dict(model, values)
        _set_fields_set(model, fields_set)
        _set_extra(model, None)
        _set_private(model, None)
        return model

    return build
