"""The media relays of a region, as their agents wrote them (``contracts.media_relays``)."""

from __future__ import annotations

import logging

from contact_center.contracts import media_relays
from contact_center.data.models import MediaRelayItem, items_of
from contact_center.domain.media_relays import Address, RelayBeat, parse_ng_address

__all__ = ["MediaRelayItems"]

log = logging.getLogger("contact_center.data")


class MediaRelayItems:
    def beats(self, region: str) -> list[RelayBeat]:
        """Every relay item listed under ``region`` (live or not: `domain.media_relays` decides).

        One index partition per region holds a handful of small items: a single page."""
        beats: list[RelayBeat] = []
        query = MediaRelayItem.gsi1.query(media_relays.relays_index_pk(region))
        for item in items_of(MediaRelayItem, query):
            try:
                address = parse_ng_address(item.ng_address)
            except ValueError:
                log.error("media relay %s registered a bad ng address %r", item.relay_id, item.ng_address)
                continue
            agent = _agent_address(item)
            beats.append(
                RelayBeat(
                    relay_id=item.relay_id,
                    ng_address=address,
                    public_address=item.public_address,
                    heartbeat_at=int(item.heartbeat_at),
                    sessions=int(item.sessions or 0),
                    draining=bool(item.draining),
                    agent_address=agent,
                )
            )
        return beats


def _agent_address(item: MediaRelayItem) -> Address | None:
    """The relay's agent, None when it wrote none (or a bad one: its words are then said one by one)."""
    if not item.agent_address:
        return None
    try:
        return parse_ng_address(item.agent_address)
    except ValueError:
        log.error("media relay %s registered a bad agent address %r", item.relay_id, item.agent_address)
        return None
