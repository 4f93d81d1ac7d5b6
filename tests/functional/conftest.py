from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.support.dynamodb import dynamodb_local, fresh_table


@pytest.fixture(scope="session")
def dynamodb_local_endpoint() -> Iterator[str]:
    with dynamodb_local() as endpoint:
        yield endpoint


@pytest.fixture
def moto_table() -> Iterator[str]:
    with mock_aws():
        yield fresh_table(None)


@pytest.fixture(params=["moto", pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local)])
def any_table(request: pytest.FixtureRequest) -> Iterator[str]:
    """The same test against moto and against AWS DynamoDB Local (the real engine's semantics)."""
    if request.param == "moto":
        with mock_aws():
            yield fresh_table(None)
    else:
        yield fresh_table(request.getfixturevalue("dynamodb_local_endpoint"))
