"""SIP mechanism: messages, transports, transactions and digest authentication (stdlib only)."""
