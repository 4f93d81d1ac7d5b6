"""Agents' softphones registering: digest auth, credentials, bindings, NAT keep-alives."""
