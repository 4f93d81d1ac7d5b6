"""Pure contact-centre logic: agent and contact state machines, skills, queues, ACD and licensing.

Standard library only, no I/O and no clock reads: time is always passed in as epoch milliseconds,
so the same rules run unchanged in a Lambda handler, in the SIP edge and in unit tests.
"""
