from __future__ import annotations

import pytest

from tests.support.routing_centre import FakeCentre


@pytest.fixture
def centre() -> FakeCentre:
    return FakeCentre()
