"""Schemas of signing in and of the people who do (``routes/people.py``)."""

from __future__ import annotations

from contact_center.domain.access import PERSON_ROLES, Role
from contact_center.services.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

from .schemas import ID_PATTERN, STRING, TIMESTAMP, Schema, _nullable, _obj, _ref

ID: Schema = {"type": "string", "pattern": ID_PATTERN}
PASSWORD: Schema = {"type": "string", "minLength": PASSWORD_MIN_LENGTH, "maxLength": PASSWORD_MAX_LENGTH}
IDS: Schema = {"type": "array", "items": ID}

PEOPLE_SCHEMAS: dict[str, Schema] = {
    "SignIn": _obj(
        {"merchant_id": ID, "user_id": ID, "password": {"type": "string", "minLength": 1}},
        ["merchant_id", "user_id", "password"],
    ),
    "InviteAccept": _obj({"token": STRING, "password": PASSWORD}, ["token", "password"]),
    "Principal": _obj(
        {
            "role": {"type": "string", "enum": sorted(role.value for role in Role)},
            "merchant_id": _nullable(STRING),
            "user_id": _nullable(STRING),
            "seat_id": _nullable(STRING),
            "queue_ids": IDS,
        },
        ["role", "merchant_id", "user_id", "seat_id", "queue_ids"],
    ),
    "Session": {
        "allOf": [
            _ref("Principal"),
            _obj(
                {
                    "token": {**STRING, "description": "send as 'Authorization: Bearer <token>'"},
                    "expires_at": TIMESTAMP,
                },
                ["token", "expires_at"],
            ),
        ]
    },
    "User": _obj(
        {
            "user_id": STRING,
            "role": {"type": "string", "enum": sorted(role.value for role in PERSON_ROLES)},
            "seat_id": _nullable(STRING),
            "queue_ids": IDS,
            "password_set": {"type": "boolean"},
            "created_at": TIMESTAMP,
        },
        ["user_id", "role", "seat_id", "queue_ids", "password_set", "created_at"],
    ),
    "UserCreate": _obj(
        {
            "user_id": ID,
            "role": {"type": "string", "enum": sorted(role.value for role in PERSON_ROLES)},
            "seat_id": {**ID, "description": "an agent's seat"},
            "queue_ids": {**IDS, "description": "a supervisor's queues"},
            "password": {**PASSWORD, "description": "without one, an invite token is returned"},
        },
        ["user_id", "role"],
    ),
    "Invite": _obj(
        {"invite_token": {**STRING, "description": "shown once; valid 7 days"}, "expires_at": TIMESTAMP},
        ["invite_token", "expires_at"],
    ),
    "UserCreated": {"allOf": [_ref("User"), _obj({"invite": _nullable(_ref("Invite"))}, ["invite"])]},
    "UserPage": _obj(
        {"items": {"type": "array", "items": _ref("User")}, "next_token": _nullable(STRING)},
        ["items", "next_token"],
    ),
    "PasswordSet": _obj({"password": PASSWORD}, ["password"]),
}
