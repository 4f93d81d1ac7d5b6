"""Which DynamoDB item actions each principal may use on the table — least privilege in one place.

Transactions need no action of their own: DynamoDB authorises each item of a TransactWriteItems as
the PutItem / UpdateItem / DeleteItem / ConditionCheckItem it is. Nobody gets Scan or any
table-level action (DeleteTable, UpdateTable...); those stay with CloudFormation.
"""

from __future__ import annotations

_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")

# Routing reads agents and queues, claims an agent (conditional update), stores the contact, and at
# its end deletes the live contact and the call's stored dialogs (a late end: one BatchWriteItem).
ROUTING = (
    *_READ,
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
# Agent events: when a seat becomes available, claim the oldest queued contact for it (the claim
# also deletes the seat's entries in its queues' availability index).
AGENT_EVENTS = (*_READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# Webhooks: reads merchants' webhooks, stores and updates the deliveries that failed.
WEBHOOKS = (*_READ, "dynamodb:PutItem")
# The event socket: connections stored and deleted in batches (one item per topic), listeners queried,
# queue names and API keys read.
EVENTS_SOCKET = (*_READ, "dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
# The HTTP API onboards merchants, manages seats, numbers, trunks and API keys (revocation deletes).
API = (*_READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# The SIP edge: registrations (bindings come and go), dialogs, queued contacts, its heartbeat.
EDGE = (
    *_READ,
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",  # the registrar's write-behind: bindings, 25 per request
)
# The failover controller: reads every merchant's ownership (GetItem, the ownerships index), moves a
# home with one conditional PutItem, and keeps its watch's own item (GetItem, PutItem).
FAILOVER = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem")
# Every reader and writer of the table uses its region's key through DynamoDB: spelled out rather
# than the grant helpers' wildcards (kms:ReEncrypt*, kms:GenerateDataKey*).
TABLE_KEY = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
