"""Recognising a failed condition in PynamoDB's errors."""

from __future__ import annotations


def is_condition_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"
