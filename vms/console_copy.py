"""A machine's console for pages served by another host (issue #19).

QEMU writes a guest's console to a file on the host the guest runs on, and only that
host's web process can read it. So each host's tick publishes the last
VM_CONSOLE_SHOW_BYTES of every guest running there to the shared Redis (the way hosts
already talk), one key per machine, with a TTL of a few ticks: a host that stops
publishing (down, or the guest stopped) leaves nothing behind for long. A page on
another host shows that copy and says how old it is; one older than COPY_SECONDS is
never shown, whatever Redis still holds.
"""
import json
import logging
import time
from pathlib import Path

from django.conf import settings
from redis.exceptions import RedisError

from herocool_project import redisconn

from .localvm import console, owner

log = logging.getLogger(__name__)
KEY = "herocool:vm-console:{}"


def copy_seconds():
    """How long a copy is kept and shown: three ticks (one a sweep, SWEEP_SECONDS)."""
    return 3 * settings.SWEEP_SECONDS


def publish(vms_root) -> list:
    """Publish the console of every guest running under vms_root (this host's); returns
    their directory names. Redis unreachable: nothing published, said once."""
    names = []
    try:
        with redisconn.connection().pipeline(transaction=False) as pipe:
            for vm_dir in sorted(owner.running_guests(vms_root)):
                pipe.set(KEY.format(vm_dir.name), _record(vm_dir), ex=copy_seconds())
                names.append(vm_dir.name)
            pipe.execute()
    except RedisError as exc:
        log.warning("guests' consoles not published: Redis unavailable (%s)", exc)
        return []
    return names


def _record(vm_dir, now=None):
    return json.dumps({"host": settings.HEROCOOL_HOST, "at": now or time.time(),
                       "text": console.tail(Path(vm_dir), settings.VM_CONSOLE_SHOW_BYTES)})


def read(stack_name, now=None):
    """(text, seconds old) of the machine's last copy, or None: none published lately,
    or Redis unreachable."""
    try:
        raw = redisconn.connection().get(KEY.format(stack_name))
        record = json.loads(raw) if raw else None
    except (RedisError, ValueError) as exc:
        log.warning("console copy of %s unreadable: %s", stack_name, exc)
        return None
    if not isinstance(record, dict) or not isinstance(record.get("at"), (int, float)):
        return None
    age = max(0.0, (now or time.time()) - record["at"])
    if age > copy_seconds():
        return None  # a TTL-less or stray key: never stale forever
    return str(record.get("text", "")), age
