"""Switchboard SIP edge: `sip` is the RFC 3261 mechanism, `app` the contact-centre policy, `main`
the composition root that builds and runs one edge task."""
