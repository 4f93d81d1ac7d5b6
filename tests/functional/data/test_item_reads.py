"""An item read from the table is the item PynamoDB's own ``_instantiate`` would build, and an item
built in code the one PynamoDB's ``Model.__init__`` would build, for every model: every attribute
given, none (defaults), nulls, and a map given as DynamoDB sends it or as a dict."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.attributes import AttributeContainer, ListAttribute, MapAttribute, NumberAttribute
from pynamodb.models import Model

from contact_center.data.models import ALL_MODELS, ContactItem, DialogItem, TableItem

SAMPLES: dict[str, dict[str, Any]] = {
    "S": {"S": "text"},
    "N": {"N": "42"},
    "BOOL": {"BOOL": True},
    "L": {"L": [{"S": "a"}, {"S": "b"}]},
    "M": {"M": {"caller": {"M": {"call_id": {"S": "c1"}, "cseq": {"N": "2"}}}, "n": {"N": "1"}}},
}


def every_attribute(model: type[TableItem]) -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, Any]] = {}
    for attribute in model.get_attributes().values():
        if isinstance(attribute, ListAttribute) and attribute.element_type is not None:
            element = attribute.element_type.attr_type
            raw[attribute.attr_name] = {"L": [SAMPLES[element]] if element in SAMPLES else []}
        else:
            raw[attribute.attr_name] = SAMPLES[attribute.attr_type]
    return raw


def pynamodbs(model: type[TableItem], raw: dict[str, dict[str, Any]]) -> TableItem:
    built: TableItem = AttributeContainer._instantiate.__func__(model, raw)  # type: ignore[attr-defined]
    return built


def same(ours: TableItem, theirs: TableItem) -> None:
    assert type(ours) is type(theirs)
    assert ours.attribute_values.keys() == theirs.attribute_values.keys()
    for name, value in theirs.attribute_values.items():
        mine = ours.attribute_values[name]
        assert type(mine) is type(value), name
        if isinstance(value, MapAttribute):
            assert mine.as_dict() == value.as_dict(), name
        else:
            assert mine == value, name
    assert ours.to_dynamodb_dict() == theirs.to_dynamodb_dict()


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.__name__)
def test_every_model_reads_as_pynamodb_reads_it(model: type[TableItem]) -> None:
    full = every_attribute(model)
    keys_only = {"pk": {"S": "PK"}, "sk": {"S": "SK"}}
    nulls = {name: {"NULL": True} for name in full} | keys_only
    for raw in (full, keys_only, nulls):
        same(model._instantiate(raw), pynamodbs(model, raw))


def test_defaults_are_fresh_per_item_and_a_map_is_a_map_attribute() -> None:
    # Given two contacts read without segments: each gets its own default list
    first = ContactItem._instantiate({"pk": {"S": "CONTACT#1"}, "sk": {"S": "CONTACT"}})
    second = ContactItem._instantiate({"pk": {"S": "CONTACT#2"}, "sk": {"S": "CONTACT"}})
    first.segments.append({"seat": "a1"})
    assert second.segments == []
    assert (first.rona_attempts, first.version, first.channel) == (0, 1, "voice")
    # A dialog's legs, a map, are a MapAttribute whose values read back as plain data
    dialog = DialogItem._instantiate(
        {"pk": {"S": "DIALOG#k"}, "sk": {"S": "DIALOG"}, "legs": SAMPLES["M"], "updated_at": {"N": "5"}}
    )
    assert isinstance(dialog.legs, MapAttribute)
    assert dialog.legs.as_dict() == {"caller": {"call_id": "c1", "cseq": 2}, "n": 1}


def pynamodbs_built(model: type[TableItem], *args: Any, **attributes: Any) -> TableItem:
    item = model.__new__(model)
    attributes.setdefault("entity", model.ENTITY)
    Model.__init__(item, *args, **attributes)
    return item


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.__name__)
def test_every_model_is_built_as_pynamodb_builds_it(model: type[TableItem]) -> None:
    given = pynamodbs(model, every_attribute(model)).attribute_values
    # A map given as a plain dict is converted by its descriptor, as PynamoDB converts it
    as_dicts = {k: v.as_dict() if isinstance(v, MapAttribute) else v for k, v in given.items()}
    nulls = dict.fromkeys(given, None) | {"pk": "PK", "sk": "SK"}
    for attributes in ({}, {"pk": "PK", "sk": "SK"}, given, as_dicts, nulls):
        same(model(**attributes), pynamodbs_built(model, **attributes))
    same(model("PK", "SK", entity="other"), pynamodbs_built(model, "PK", "SK", entity="other"))
    # Read back from the table, an item is built without its defaults for new items
    same(model(_user_instantiated=False), pynamodbs_built(model, _user_instantiated=False))
    with pytest.raises(ValueError, match="nope specified does not exist"):
        model(nope=1)


class _Stamped(TableItem):
    """A model with a default for new items only (none of the table's has one yet)."""

    ENTITY = "stamped"
    stamp = NumberAttribute(default_for_new=lambda: 7)


def test_a_default_for_new_items_only_applies_to_items_built_in_code() -> None:
    assert _Stamped().stamp == 7
    assert _Stamped(_user_instantiated=False).stamp is None
    assert _Stamped._instantiate({"pk": {"S": "PK"}, "sk": {"S": "SK"}}).stamp is None
    for user in (True, False):
        same(_Stamped(_user_instantiated=user), pynamodbs_built(_Stamped, _user_instantiated=user))
