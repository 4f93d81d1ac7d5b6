"""Low-level DynamoDB attribute maps built straight from a model's declared attributes.

Constructing a PynamoDB model and serializing it costs about 45 us per item (descriptors, defaults,
per-attribute checks); a write-behind path that writes thousands of items a second cannot afford it.
:class:`ItemEncoder` reads the model's attribute declarations once and then encodes plain values with
the same rules as ``Model(**values).serialize()`` (names, types, defaults, nullability, each
attribute's own ``serialize``), so the model stays the one description of the item's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import Attribute, MapAttribute, NumberAttribute, UnicodeAttribute

from contact_center.data.models import TableItem

AttributeMap = dict[str, dict[str, Any]]  # {"name": {"S": "value"}}: what the DynamoDB API takes


@dataclass(frozen=True, slots=True)
class _Field:
    name: str  # Python name: the key in the values given to encode()
    attr_name: str  # the name in the table
    attr_type: str
    serialize: Callable[[Any], Any] | None  # None: the value is written as it is
    default: Callable[[], Any]
    null: bool
    key: bool


class ItemEncoder:
    """``Model(**values).serialize()`` without the model, for one TableItem subclass."""

    def __init__(self, model: type[TableItem]) -> None:
        # TableItem.__init__ sets ``entity`` to the class's ENTITY when not given: the same default here.
        self._fields = tuple(
            _field(name, attr, model.ENTITY if name == "entity" else None)
            for name, attr in model.get_attributes().items()
        )
        self._names = frozenset(f.name for f in self._fields)

    def encode(self, values: Mapping[str, Any]) -> AttributeMap:
        """The item as ``model(**values).serialize()`` would write it; raises as the model would."""
        unknown = values.keys() - self._names
        if unknown:
            raise ValueError(f"Attribute {sorted(unknown)[0]} specified does not exist")
        out: AttributeMap = {}
        for f in self._fields:
            value = values[f.name] if f.name in values else f.default()
            if value is not None and f.serialize is not None:
                value = f.serialize(value)
            if value is None:
                if not f.null:
                    raise ValueError(f"Attribute '{f.name}' cannot be None")
                continue
            out[f.attr_name] = {f.attr_type: value}
        return out

    def key(self, values: Mapping[str, Any]) -> AttributeMap:
        """The item's primary key alone (a DeleteRequest's ``Key``)."""
        return {
            f.attr_name: {f.attr_type: values[f.name] if f.serialize is None else f.serialize(values[f.name])}
            for f in self._fields
            if f.key
        }


def _field(name: str, attr: Attribute[Any], default: Any) -> _Field:
    if isinstance(attr, MapAttribute):
        # Maps validate and serialize nested containers; no write-behind item has one.
        raise TypeError(f"{name}: map attributes are not supported by ItemEncoder")
    if default is None:
        # What a model built by the caller (not read from the table) starts with.
        default = attr.default_for_new if attr.default_for_new is not None else attr.default
    return _Field(
        name=name,
        attr_name=attr.attr_name,
        attr_type=attr.attr_type,
        serialize=_serializer(attr),
        # A callable default gives a new value per item (``default=list``), as the model calls it.
        default=default if callable(default) else lambda: default,
        null=bool(attr.null),
        key=bool(attr.is_hash_key or attr.is_range_key),
    )


def _serializer(attr: Attribute[Any]) -> Callable[[Any], Any] | None:
    if type(attr) is UnicodeAttribute:
        return None  # serializes to the value itself: skip the call
    if type(attr) is NumberAttribute:
        serialize: Callable[[Any], Any] = attr.serialize

        def number(value: Any) -> Any:
            # NumberAttribute writes json.dumps(value), which for an int is int.__repr__ (without
            # json's encoder machinery: a third of the encoding time of a binding).
            return int.__repr__(value) if type(value) is int else serialize(value)

        return number
    return attr.serialize
