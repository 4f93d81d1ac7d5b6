"""Switchboard SIP edge: `sip` is the RFC 3261 mechanism, `app` the contact-centre policy."""
