"""One Redis client per process (and per Redis URL) for the short calls of a request.

`django_rq.get_connection()` and `get_queue()` build a new client, with a new connection
pool, on every call: each one then opens a TCP connection and authenticates (AUTH, then
redis-py's HELLO and CLIENT SETINFO) before its first command, four round trips and a
few milliseconds of CPU per call on both sides. A request that checks a rate limit and
enqueues a job paid that twice. The client here keeps its pool for the life of the
process; redis-py's pool is thread-safe and starts afresh in a forked child (it checks
the pid), and a connection broken by a Redis restart is retried by redis-py's default
retry policy.

Workers keep django_rq's own connections (their blocking BLPOP is not a short call).
"""
import threading

import django_rq
import redis

CONNECT_TIMEOUT = 2  # seconds to reach Redis before a call fails (and the caller says so)
CALL_TIMEOUT = 10  # seconds for one command's answer

_clients = {}
_lock = threading.Lock()


def connection(name="default"):
    """The shared client for RQ_QUEUES[name]'s Redis (read now: tests override it)."""
    from django_rq.settings import QUEUES

    config = QUEUES[name]
    key = (config.get("URL"), config.get("DB"))
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _new_client(config)
    return client


def _new_client(config):
    if "URL" not in config:  # a configuration we do not build ourselves
        from django_rq.connection_utils import get_redis_connection

        return get_redis_connection(config)
    return redis.Redis.from_url(config["URL"], db=config.get("DB"),
                                socket_connect_timeout=CONNECT_TIMEOUT,
                                socket_timeout=CALL_TIMEOUT)


def queue(name="default"):
    """django_rq's queue `name` (its timeout, serializer, commit mode) on the shared client."""
    return django_rq.get_queue(name, connection=connection(name))
