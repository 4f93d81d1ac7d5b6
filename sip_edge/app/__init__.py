"""Policy of the SIP edge: what to do with each request, and the process that runs it."""
