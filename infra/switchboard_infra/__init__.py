"""The AWS CDK app of Switchboard: configuration, constructs, stacks and the cdk-nag policy.

Imports no runtime code except ``contact_center.data.schema``, the table's one source of truth.
"""
