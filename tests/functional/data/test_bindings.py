"""Bindings written without models: the same items as the model would write, read back by the model.

Against moto and AWS DynamoDB Local (``any_table``), except the encoder checks, which need no table.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from contact_center.data import table
from contact_center.data.bindings import BindingItems, binding_key, binding_values, new_binding
from contact_center.data.encoding import ItemEncoder
from contact_center.data.models import BindingItem, MerchantItem, SipUserItem
from sip_edge.app.adapters.tables import TableBindingStore
from sip_edge.sip.registration import Binding

NOW = 1_790_000_000
AOR = "sip:alice@sip.test"

VALUES = {
    "minimal": binding_values(AOR, "sip:alice@10.0.0.1:5060", NOW + 60),
    "edge binding": binding_values(
        AOR,
        "sip:alice@198.51.100.7:40000;transport=udp",
        NOW + 3600,
        received="198.51.100.7:40000",
        flow_owner="edge-a",
        call_id="c1@host",
        cseq=7,
        user_agent="baresip 3.10",
    ),
    "outbound and path": binding_values(
        AOR,
        "sip:alice@10.0.0.2:5061;transport=tls",
        NOW + 600,
        transport="TLS",
        flow_owner="edge-b",
        path=["<sip:proxy.test;lr>", "<sip:edge.test;lr>"],
        instance_id='"<urn:uuid:00000000-0000-1000-8000-000000000001>"',
        reg_id=1,
        q=0.5,
    ),
    "empty strings": binding_values(AOR, "sip:alice@10.0.0.3", NOW, received="", user_agent=""),
}


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_encoder_writes_what_the_model_serializes(values: dict[str, Any]) -> None:
    assert ItemEncoder(BindingItem).encode(values) == BindingItem(**values).serialize()


def test_encoder_keeps_the_models_defaults_and_checks() -> None:
    encoder = ItemEncoder(MerchantItem)
    values = {
        "pk": "MERCHANT#m1",
        "sk": "MERCHANT",
        "merchant_id": "m1",
        "name": "Acme",
        "contact_email": "ops@acme.test",
        "seat_licenses": 2,
        "created_at": 5,
    }
    # ENTITY, default=0, default=1: as TableItem and the attributes declare them.
    assert encoder.encode(values) == MerchantItem(**values).serialize()
    assert encoder.encode(values)["entity"] == {"S": "merchant"}
    with pytest.raises(ValueError, match="does not exist"):
        encoder.encode({**values, "nmae": "typo"})
    with pytest.raises(ValueError, match="name"):
        encoder.encode({k: v for k, v in values.items() if k != "name"})
    assert encoder.key(values) == {"pk": {"S": "MERCHANT#m1"}, "sk": {"S": "MERCHANT"}}


def test_encoder_refuses_map_attributes() -> None:
    with pytest.raises(TypeError, match="map attributes"):
        ItemEncoder(SipUserItem)


@pytest.mark.usefixtures("any_table")
@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_table_holds_exactly_the_models_item(values: dict[str, Any]) -> None:
    BindingItems().write_batch([values], [])

    client = boto3.client("dynamodb", region_name=table.BINDING.region, endpoint_url=table.BINDING.host)
    key = {"pk": {"S": values["pk"]}, "sk": {"S": values["sk"]}}
    stored = client.get_item(TableName=table.BINDING.table_name, Key=key, ConsistentRead=True)["Item"]
    assert stored == BindingItem(**values).serialize()


@pytest.mark.usefixtures("any_table")
def test_models_and_values_can_be_mixed_in_one_batch() -> None:
    BindingItems().write_batch(
        [new_binding(AOR, "sip:alice@10.0.0.1:5060", NOW + 60), VALUES["outbound and path"]], []
    )
    assert {b.contact_uri for b in BindingItems().current(AOR, NOW)} == {
        "sip:alice@10.0.0.1:5060",
        "sip:alice@10.0.0.2:5061;transport=tls",
    }


def _binding(n: int, expires_at: float, cseq: int = 1, **extra: Any) -> Binding:
    uri = f"sip:seat{n:03d}@192.0.2.{n % 250}:5060"
    return Binding(
        aor=f"sip:seat{n:03d}@sip.test",
        key=binding_key(uri, extra.get("instance_id")),
        contact_uri=uri,
        expires_at=expires_at,
        received=f"192.0.2.{n % 250}:5060",
        transport="UDP",
        flow_owner="edge-a",
        call_id=f"call-{n}",
        cseq=cseq,
        **extra,
    )


@pytest.mark.usefixtures("any_table")
def test_store_reads_back_what_it_wrote() -> None:
    store = TableBindingStore()
    plain = _binding(1, NOW + 60)
    full = _binding(
        2,
        NOW + 120,
        instance_id='"<urn:uuid:00000000-0000-1000-8000-000000000002>"',
        reg_id=2,
        user_agent="Linphone/5.2",
        path=("<sip:edge.test;lr>",),
    )
    store.write([plain, full], [])

    assert store.load(plain.aor, NOW) == [plain]
    assert store.load(full.aor, NOW) == [full]


@pytest.mark.usefixtures("any_table")
def test_every_change_of_a_large_flush_reaches_the_table() -> None:
    # Given 60 bindings (three BatchWriteItem requests), written once
    store = TableBindingStore()
    first = [_binding(n, NOW + 60) for n in range(60)]
    store.write(first, [])
    # When every one is refreshed (new expiry and CSeq) and one of them removed
    refreshed = [_binding(n, NOW + 3600, cseq=2) for n in range(1, 60)]
    store.write(refreshed, [(first[0].aor, first[0].key)])
    # Then the table holds every refresh, and the removal
    assert store.load(first[0].aor, NOW) == []
    for b in refreshed:
        assert store.load(b.aor, NOW) == [b]
