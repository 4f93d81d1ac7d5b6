from __future__ import annotations

import os

# Tests never reach AWS: fake credentials before any SDK client is made.
for _name, _value in (
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled"),
):
    os.environ.setdefault(_name, _value)
for _name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(_name, None)
