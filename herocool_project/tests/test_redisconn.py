"""The web tier keeps one Redis client per process: a request that checks a rate limit
and enqueues a job opens no new connection (each one costs AUTH, HELLO and CLIENT
SETINFO round trips before its first command)."""
import os

import django_rq
import pytest
from django.urls import reverse

from herocool_project import redisconn
from sites.models import Site

PAGE = "<h1>hello</h1>"


def connections_received():
    return django_rq.get_connection("default").info("stats")["total_connections_received"]


@pytest.mark.django_db(transaction=True)
def test_creating_sites_opens_no_redis_connection_per_request(alice_client, alice, host_queue,
                                                              settings):
    settings.QUOTA_LIVE_DEPLOYMENTS = 10
    def create(name):
        response = alice_client.post(reverse("sites-create"),
                                     {"name": name, "source": "html", "html": PAGE})
        assert response.status_code == 302

    create("warm-up")  # the process's first call opens the shared client's connection
    before = connections_received()
    for i in range(5):
        create(f"site-{i}")
    # One new connection: the counter's own client above (django_rq's, a new one each call).
    assert connections_received() - before == 1
    assert Site.objects.filter(owner=alice).count() == 6
    assert len(host_queue.job_ids) == 6  # every create still reached its host's queue


def test_the_client_follows_the_configured_redis(settings):
    first = redisconn.connection()
    assert redisconn.connection() is first
    settings.RQ_QUEUES = {"default": {**settings.RQ_QUEUES["default"],
                                      "URL": "redis://127.0.0.1:9/0"}}
    other = redisconn.connection()
    assert other is not first
    assert other.connection_pool.connection_kwargs["port"] == 9


def test_a_forked_child_gets_connections_of_its_own():
    conn = redisconn.connection()
    conn.set("herocool:test:fork", "parent")
    parent_socket = conn.connection_pool.get_connection()
    conn.connection_pool.release(parent_socket)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker or an RQ job after fork
        try:
            child = redisconn.connection()
            value = child.get("herocool:test:fork")
            fresh = child.connection_pool.get_connection() is not parent_socket
            os.write(write, b"ok" if value == b"parent" and fresh else b"bad")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 10) == b"ok"
    assert conn.get("herocool:test:fork") == b"parent"  # the parent's client still works
    conn.delete("herocool:test:fork")
