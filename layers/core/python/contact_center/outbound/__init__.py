"""Requests the platform sends to merchants' own servers (webhooks), standard library only."""
