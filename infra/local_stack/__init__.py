"""Switchboard on one machine: local DynamoDB, the Lambda Invoke API, stream pollers, the HTTP API and
the SIP edge, all on 127.0.0.1, started and stopped together by ``python -m local_stack``."""
