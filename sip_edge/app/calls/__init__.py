"""Inbound calls: sorting requests to calls, setting a call up, bridging it, holding it in a queue."""
