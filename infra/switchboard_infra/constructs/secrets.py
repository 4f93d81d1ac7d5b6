"""The region's secrets: the edge fleet's digest nonce key, its TLS certificate and key, and the
hash of the platform admin key, in Secrets Manager under one customer-managed KMS key.

None of them is ever in a template: Secrets Manager generates the nonce key; the admin key hash
starts as random hex (a hash nobody knows the key of, so no admin until an operator puts the SHA-256
of a key of their choosing); the TLS secret starts empty and the edge only receives it when TLS is
enabled (README, Deploy). ECS hands the nonce key and the PEMs to the edge as container secrets; the
API reads the admin hash once per Lambda environment.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from switchboard_infra import nag

TLS_CERTIFICATE_FIELD = "certificate"
TLS_PRIVATE_KEY_FIELD = "privateKey"
_NOT_HEX = "ghijklmnopqrstuvwxyz"


class Secrets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Switchboard secrets: SIP nonce key, SIP TLS certificate and key, admin key hash",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.nonce_key = secretsmanager.Secret(
            self,
            "SipNonceKey",
            description="Fleet-wide SIP digest nonce key: any edge task verifies any task's nonces",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
        self.admin_key_sha256 = secretsmanager.Secret(
            self,
            "AdminKeySha256",
            description="Hex SHA-256 of the platform admin key (put your own; the generated one has no key)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64,
                exclude_punctuation=True,
                exclude_uppercase=True,
                exclude_characters=_NOT_HEX,
                require_each_included_type=False,
            ),
        )
        self.tls = secretsmanager.Secret(
            self,
            "SipTls",
            description="PEM certificate chain and private key the SIP edge serves on 5061 (JSON)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({TLS_CERTIFICATE_FIELD: "", TLS_PRIVATE_KEY_FIELD: ""}),
                generate_string_key="unused",
            ),
        )
        for secret, why in (
            (
                self.nonce_key,
                "a new nonce key invalidates every outstanding challenge at once; rotate it by hand at a "
                "quiet hour (clients simply re-register), there is no safe automatic schedule",
            ),
            (
                self.admin_key_sha256,
                "the value is the hash of a key only the operator holds; rotating means choosing a new "
                "key and putting its hash, which no rotation function can do for them",
            ),
            (
                self.tls,
                "the certificate comes from the operator's certificate authority; it is renewed by "
                "putting the new chain and key, on the CA's schedule",
            ),
        ):
            nag.acknowledge(secret, "AwsSolutions-SMG4", why)
