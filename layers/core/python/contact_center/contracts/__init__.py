"""Contracts that cross a process or deployment boundary, each stated once (standard library only).

- ``values``: what the HTTP API, the domain and the table agree on (identifier and phone patterns,
  ring-timeout bounds, agent states).
- ``schedules``: the functions invoked on a timer (EventBridge rules; the local stack's timers).
- ``settings``: every environment variable a deployed process reads, which process reads it, and a
  typed loader per process that fails at start naming what is missing or invalid.

The domain, the services, the functions, the edge, the OpenAPI document, the CDK app and the local
stack all read these names from here; tests check that each of them agrees.
"""
