"""The ACD use cases: route a new contact, handle an offer's result, end a contact, dequeue.

Invariants, and where they are held:

- An agent is offered one contact at a time, a contact to one agent at a time: ``LiveContacts.offer``
  is one transaction conditioned on the seat being AVAILABLE at the version read and the contact
  at the version read. Losing either condition is normal; the loser moves to the next candidate
  (lost seat) or re-reads the contact (lost contact: someone else offered or ended it).
- No queued contact is lost: a new contact's router looks for an agent before writing it; a free
  one gets the contact created already OFFERED to it (``LiveContacts.create_offered``: the
  contact's creation, the seat's reservation and the queue's count in one transaction). Finding
  none, it creates the contact QUEUED and listed in the queue's index, and then looks once more. An
  agent freed before that second look is found by it; one freed after finds the contact through
  ``agent_available``. (Listed before its own router's first look, every new contact would be
  raced for by the routers of agents turning available while its own router offers it: under load
  most of those races are lost, each a cancelled transaction.) A contact leaves the index only by
  an offer, an overflow, a forward or its end — each a conditional write.
- Every contact that was created ends with exactly one record: ``LiveContacts.end`` deletes the
  live item and writes the record in one transaction — which also releases the contact's agent,
  written on the agent's from-state, so an agent is never left holding an ended contact.
- An answer moves the agent (RESERVED -> ON_CONTACT) and the contact (OFFERED -> CONNECTED) in one
  transaction (``LiveContacts.connect``), each conditioned on its from-state.
- A transfer moves the contact (CONNECTED -> QUEUED in the target's queue) and its agent
  (ON_CONTACT -> wrap-up) in one transaction (``LiveContacts.connect`` again, each on its from-state),
  so the caller is never held by two agents nor by none; the next agent gets it by the ordinary offer.

Seat writes that go with a contact's are computed by the domain's ``apply`` from the state the
contact's offer left the seat in (``records.seat_as_left``), not from a read: the write is
conditioned on that state, its contact and its version, so a wrong guess fails and the seat is read
instead.

Every method takes ``now_ms`` from the caller (the edge's or the handler's clock), so the rules run
the same in tests with a fixed clock.

Where each rule lives (``service.RoutingService`` is the one entry point and only hands over):

- ``arrivals``  a new contact: forward, reject, offer it to a free agent as it is created, or
                create it in its queue
- ``placement`` a queued contact's next step: an agent, the queue's index, overflow or reject at
                max wait (``queue_timeout``); the decision read back after a lost race
- ``offers``    ranking the queue's available seats (its own availability index, longest idle
                first) and the atomic claim of one; an unregistered phone parks its agent
                NOT_RESPONDING
- ``answers``   the agent leg's result: connect, or RONA / busy / rejected and offer again
- ``dequeue``   an agent became available (seat stream, end of wrap-up): the waiting contact it
                should take first, across its queues
- ``endings``   the end of a contact: record, counters and the agent's release in one write
- ``fleet``     the edge tasks' questions: pending offers a push did not bring, contacts of a lost task
- ``transfers`` a connected agent hands the caller to a queue, a seat or a number of the merchant
- ``sweeps``    every minute: wrap-ups past their deadline, reservations that outlived their ring
- ``records``   pure reckoning: the contact record, its segments, its statistics outcome
- ``ports``, ``decisions``, ``commands``, ``events``: the values and ports, the decisions sent to
  the edge, the routing function's commands, the seat stream's records

Where a queued caller gets connected: an agent turns AVAILABLE (an agent's own change, or the end
of a call or of a wrap-up); the seat stream (``events.available_seats_in``, read by
``functions/agent_events``) or ``endings`` itself calls ``dequeue.Dequeue.agent_available``, which
picks the contact and claims it with ``offers.Offers.claim`` (the contact is now OFFERED, the seat
RESERVED), then pushes the offer to the edge task holding the caller through the ``dequeue.OfferPush``
port (``contact_center/edge_push.py``; the format is ``contracts/offer_push.py``). The task rings the
agent; the ring's result comes back to ``answers``. A lost push is found by the task's safety-net
poll of ``fleet.Fleet.pending_offers`` every few seconds (``sip_edge/app/calls/queue_hold.py``).
"""

from __future__ import annotations

from .dequeue import AgentOffer
from .policy import RoutingPolicy
from .service import RoutingService

__all__ = ["AgentOffer", "RoutingPolicy", "RoutingService"]
