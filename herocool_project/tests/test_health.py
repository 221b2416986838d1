"""/healthz and /readyz: what load balancers see, what strangers see, what staff see."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis

from conftest import wait_for

pytestmark = pytest.mark.django_db

FOREIGN_HOST = "10.1.2.3:8000"  # a load balancer probes the backend by its address


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("ops", password="ops-password-1",
                                                 is_staff=True)


@pytest.fixture
def all_up(settings, origin):
    """Every readiness check has something real to find: the test origin is the origin."""
    settings.SITES_PORT = origin
    settings.HEROCOOL_TARGET = "local"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, to stop and start again on one port."""

    def __init__(self, tmp_path):
        self.port, self.dir, self.proc = free_port(), tmp_path, None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL)
        wait_for(self.answers, timeout=10)

    def answers(self):
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


@pytest.fixture
def own_redis(settings, tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    settings.RQ_QUEUES = {"default": {**settings.RQ_QUEUES["default"], "URL": server.url}}
    yield server
    if server.proc.poll() is None:
        server.stop()


def test_healthz_answers_with_no_database_query(client, alice, django_assert_num_queries):
    client.force_login(alice)  # a session cookie must not make it load the session
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert response["Cache-Control"] == "no-store"


def test_probes_by_the_backends_address_are_answered(client, all_up):
    """Not 400 (DisallowedHost) nor a redirect to https: a load balancer sends its own Host."""
    for path in ("/healthz", "/readyz"):
        response = client.get(path, HTTP_HOST=FOREIGN_HOST)
        assert response.status_code == 200, (path, response.content)
        assert response["X-Content-Type-Options"] == "nosniff"


def test_probes_are_not_redirected_to_https(client, settings, all_up):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/readyz", HTTP_HOST=FOREIGN_HOST).status_code == 200


def test_readyz_is_ok_when_everything_answers(client, all_up):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.content == b"ok\n"


def test_readyz_goes_503_with_redis_stopped_and_back_to_200_when_it_returns(
        client, all_up, own_redis):
    assert client.get("/readyz").status_code == 200
    own_redis.stop()
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.content == b"unavailable: redis\n"
    own_redis.start()
    assert client.get("/readyz").status_code == 200


def test_a_hung_redis_fails_readyz_within_its_timeout(client, all_up, own_redis):
    os.kill(own_redis.proc.pid, signal.SIGSTOP)  # accepts connections, never answers
    try:
        started = time.monotonic()
        assert client.get("/readyz").status_code == 503
        assert time.monotonic() - started < 5
    finally:
        os.kill(own_redis.proc.pid, signal.SIGCONT)


@pytest.fixture
def broken(settings, tmp_path):
    """A CLI that is not executable and an origin that does not answer."""
    cli = tmp_path / "pulumi-root" / "bin" / "pulumi"
    cli.parent.mkdir(parents=True)
    cli.write_text("#!/bin/sh\n")
    settings.PULUMI_ROOT = str(cli.parent.parent)
    settings.SITES_PORT = free_port()
    settings.HEROCOOL_TARGET = "local"
    return cli


def test_strangers_see_only_the_names_of_failing_checks(client, bob, broken):
    for who in (None, bob):
        if who:
            client.force_login(who)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.content == b"unavailable: engine_cli, sites_origin\n"


def test_staff_see_each_checks_detail(client, staff, broken, settings):
    client.force_login(staff)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["ready"] is False
    checks = body["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert not checks["engine_cli"]["ok"] and str(broken) in checks["engine_cli"]["detail"]
    assert not checks["sites_origin"]["ok"]
    assert "Connection refused" in checks["sites_origin"]["detail"]


def test_an_executable_cli_passes(client, staff, broken):
    broken.chmod(0o700)
    client.force_login(staff)
    checks = json.loads(client.get("/readyz").content)["checks"]
    assert checks["engine_cli"] == {**checks["engine_cli"], "ok": True, "detail": str(broken)}


def test_the_origin_is_checked_on_the_local_target_only(client, staff, broken, settings):
    settings.HEROCOOL_TARGET = "aws"
    client.force_login(staff)
    assert set(json.loads(client.get("/readyz").content)["checks"]) == {
        "database", "redis", "engine_cli"}


def test_probes_answer_only_get_and_head(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
