"""How a model's attributes are stored on an item, worked out once per model (``models.TableItem``
builds and reads items with it instead of PynamoDB's per-attribute descriptor calls)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.models import Model


class AttributePlan:
    """A model's attributes, each with whether its descriptor stores a value as given (PynamoDB's
    plain ``Attribute.__set__``: no discriminator, no conversion)."""

    def __init__(self, model: type[Model]) -> None:
        if model._discriminator is not None:  # type: ignore[attr-defined]
            raise TypeError(f"{model.__name__}: a discriminator is not built here")
        self.attributes = tuple(
            (name, attribute, type(attribute).__set__ is Attribute.__set__)
            for name, attribute in model.get_attributes().items()
        )
        self.plain = {name: plain for name, _, plain in self.attributes}

    @staticmethod
    def store(item: Model, values: dict[str, Any], name: str, value: Any, plain: bool) -> None:
        if plain:
            values[name] = value
        else:  # a descriptor that converts (a map from a dict): as PynamoDB sets it
            setattr(item, name, value)


_PLANS: dict[type[Model], AttributePlan] = {}


def plan_of(model: type[Model]) -> AttributePlan:
    plan = _PLANS.get(model)
    if plan is None:
        plan = _PLANS[model] = AttributePlan(model)
    return plan
