"""The agent desk's storage: a merchant's desk settings, contacts' wrap-up codes, and the event
socket's open connections (one item per topic a connection listens to, indexed by topic)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import RecordItem, TableItem, _strings, items_of
from contact_center.data.table import BINDING
from contact_center.domain.desk import DeskSettings
from contact_center.services.errors import ForbiddenError, NotFoundError

# API Gateway closes a WebSocket connection after two hours at the latest; its item goes with it
# even when the $disconnect never arrives (a region lost mid-connection).
CONNECTION_TTL_SECONDS = 2 * 3600


class DeskSettingsItem(TableItem):
    ENTITY = "desk_settings"
    merchant_id = UnicodeAttribute()
    crm_link_template = UnicodeAttribute(null=True)
    wrap_up_codes = _strings()
    updated_at = NumberAttribute()


class SocketConnectionItem(TableItem):
    ENTITY = "socket_connection"
    connection_id = UnicodeAttribute()
    topic = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    connected_at = NumberAttribute()


BINDING.register(DeskSettingsItem, SocketConnectionItem)


class DeskSettingsRepository:
    def get(self, merchant_id: str) -> DeskSettings:
        try:
            item = DeskSettingsItem.get(keys.merchant_pk(merchant_id), keys.DESK_SETTINGS_SK)
        except DoesNotExist:
            return DeskSettings()
        return DeskSettings(item.crm_link_template, tuple(item.wrap_up_codes))

    def put(self, merchant_id: str, settings: DeskSettings, now_ms: int) -> None:
        DeskSettingsItem(
            pk=keys.merchant_pk(merchant_id),
            sk=keys.DESK_SETTINGS_SK,
            merchant_id=merchant_id,
            crm_link_template=settings.crm_link_template,
            wrap_up_codes=list(settings.wrap_up_codes),
            updated_at=now_ms,
        ).save()


class WrapUpRepository:
    def set_code(self, merchant_id: str, contact_id: str, seat_id: str | None, code: str) -> None:
        """Write the code on the contact's record; with ``seat_id``, only if that seat took the call.

        One conditional write holds both rules (the record is the merchant's; an agent's own
        contact), so a record written by another seat can never take an agent's code.
        """
        item = RecordItem(pk=keys.contact_pk(contact_id), sk=keys.RECORD_SK)
        condition = RecordItem.pk.exists() & (RecordItem.merchant_id == merchant_id)
        try:
            if seat_id is not None:
                # Tell "not yours" (403) from "no such record" (404) only after the write failed.
                item.update(
                    actions=[RecordItem.wrap_up_code.set(code)],
                    condition=condition & (RecordItem.seat_id == seat_id),
                )
            else:
                item.update(actions=[RecordItem.wrap_up_code.set(code)], condition=condition)
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            if seat_id is not None and self._exists(merchant_id, contact_id):
                raise ForbiddenError(
                    "an agent sets the wrap-up code of its own contacts only", "contact_id"
                ) from exc
            raise NotFoundError("contact", contact_id) from exc

    @staticmethod
    def _exists(merchant_id: str, contact_id: str) -> bool:
        try:
            found = RecordItem.get(keys.contact_pk(contact_id), keys.RECORD_SK)
        except DoesNotExist:
            return False
        return found.merchant_id == merchant_id


class SocketConnectionRepository:
    def add(self, connection_id: str, merchant_id: str, topics: tuple[str, ...], now_ms: int) -> None:
        expires = now_ms // 1000 + CONNECTION_TTL_SECONDS
        with SocketConnectionItem.batch_write() as batch:
            for topic in topics:
                batch.save(
                    SocketConnectionItem(
                        pk=keys.socket_connection_pk(connection_id),
                        sk=keys.socket_topic_sk(topic),
                        gsi1pk=keys.socket_listeners_index_pk(topic),
                        gsi1sk=connection_id,
                        connection_id=connection_id,
                        topic=topic,
                        merchant_id=merchant_id,
                        connected_at=now_ms,
                        expires_at=expires,
                    )
                )

    def remove(self, connection_id: str) -> None:
        items = list(SocketConnectionItem.query(keys.socket_connection_pk(connection_id)))
        with SocketConnectionItem.batch_write() as batch:
            for item in items:
                batch.delete(item)

    def listening(self, topics: tuple[str, ...], now_ms: int) -> set[str]:
        """The connections listening to any of ``topics`` (expired items filtered: TTL is lazy)."""
        found: set[str] = set()
        now_s = now_ms // 1000
        for topic in topics:
            listeners = SocketConnectionItem.gsi1.query(keys.socket_listeners_index_pk(topic))
            for item in items_of(SocketConnectionItem, listeners):
                if item.expires_at is None or int(item.expires_at) > now_s:
                    found.add(item.connection_id)
        return found
