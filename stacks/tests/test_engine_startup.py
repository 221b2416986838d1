"""What an operation costs before and after its CLI process (issue #13): one loopback
gRPC server serves both the inline program and the engine's events."""
import time
from unittest import mock

import grpc
import pulumi
import pytest

from stacks import engine

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
PROJECT = "herocool-startuptest"


def test_an_update_serves_its_program_and_its_events_from_one_grpc_server():
    name = f"s-{time.time_ns() % 10**9}"

    def program():
        pulumi.export("url", "http://a")

    try:
        with mock.patch("stacks.engine.grpc.server", wraps=grpc.server) as server:
            result = engine.up(PROJECT, name, program, new=True)
            assert server.call_count == 1  # `stack init` needs none; `up` one
            server.reset_mock()
            again = engine.up(PROJECT, name, program)
            assert server.call_count == 1
    finally:
        engine.destroy(PROJECT, name, lambda: None)
    assert result.outputs == again.outputs == {"url": "http://a"}
    assert again.summary == {"result": "succeeded", "changes": {"same": 1}}
