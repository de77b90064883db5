from __future__ import annotations

import pytest
from server_support import start_server


@pytest.fixture
def server(tmp_path):
    running = start_server(tmp_path)
    yield running
    running.stop()
