"""The worker machines ("hosts") of the platform, and what lives on each.

Every worker that takes deployments serves the shared queues plus its host's own queue,
`host:<HEROCOOL_HOST>` (stacks/rqworker.py). A local-target site or VM lives on one
host (its files, its guest): it records that host, chosen at creation by free capacity
among the live ones, and every later job of it goes to that host's queue. Cloud-target
resources have no host and run on any worker, from the shared queue.

A host is *live* while an RQ worker serving its queue has a fresh heartbeat (the same
test the sweep applies to the worker of a running deployment). Its record (capacity,
sites origin, last seen) is written by the host itself: by its workers when they start,
by its sites origin, and by the host tick the sweep puts on its queue every minute.
"""
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from herocool_project import redisconn

log = logging.getLogger(__name__)
QUEUE_PREFIX = "host:"


class Host(models.Model):
    """One worker machine, as it last described itself."""

    name = models.CharField(max_length=100, unique=True)
    # SITES_URL_TEMPLATE of that machine: its own sites origin.
    sites_url_template = models.CharField(max_length=300)
    vm_memory_mb = models.PositiveIntegerField(help_text="Guest memory it allows, in MB.")
    max_sites = models.PositiveIntegerField()
    registered = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        app_label = "stacks"
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def queue_name(self):
        return queue_name(self.name)

    @classmethod
    def register_this(cls):
        """Record this machine (from its own settings) as seen now; returns the record."""
        host, _ = cls.objects.update_or_create(name=settings.HEROCOOL_HOST, defaults={
            "sites_url_template": settings.SITES_URL_TEMPLATE,
            "vm_memory_mb": settings.HOST_VM_MEMORY_MB,
            "max_sites": settings.HOST_MAX_SITES,
            "last_seen": timezone.now(),
        })
        return host


def queue_name(host_name):
    return f"{QUEUE_PREFIX}{host_name}"


def host_queue(host_name):
    """The RQ queue of any host, built like the shared one (same Redis, JSON, the
    deployment timeout): a plain RQ queue, as RQ_QUEUES names only this host's own."""
    from django_rq.settings import QUEUES
    from rq import Queue

    options = QUEUES["default"]
    return Queue(queue_name(host_name), connection=redisconn.connection(),
                 serializer=options["SERIALIZER"], default_timeout=options["DEFAULT_TIMEOUT"])


def queue_for(resource):
    """Where the jobs of `resource` go: its host's queue, else the shared one."""
    if resource.host_id is None:
        return redisconn.queue("default")
    return host_queue(host_names([resource.host_id])[resource.host_id])


_last_reading = (float("-inf"), None)  # (monotonic time, names): live_host_names(fresh=False)


def live_host_names(*, fresh=True):
    """Names of the hosts with a live worker on their queue (one read of RQ's workers),
    or None when Redis cannot be read: liveness is then unknown. With fresh=False, a
    reading at most HOST_LIVENESS_CACHE_SECONDS old will do (pages and placement: one
    read of every worker per request was a tenth of a page's cost under load)."""
    global _last_reading
    if not fresh:
        at, names = _last_reading
        if time.monotonic() - at < settings.HOST_LIVENESS_CACHE_SECONDS:
            return names
    names = _read_live_host_names()
    _last_reading = (time.monotonic(), names)
    return names


def _read_live_host_names():
    from redis.exceptions import RedisError
    from rq import Worker

    from .sweep import is_alive

    try:
        workers = Worker.all(connection=redisconn.connection())
    except RedisError as exc:
        log.warning("host liveness unknown: Redis unavailable (%s)", exc)
        return None
    names = set()
    for worker in workers:
        if is_alive(worker):
            names.update(q.removeprefix(QUEUE_PREFIX) for q in worker.queue_names()
                         if q.startswith(QUEUE_PREFIX))
    return names


def live_hosts():
    """The live hosts. With Redis unreadable, those whose record was refreshed within the
    last few sweeps: a create is then recorded and placed, and waits for the queue like
    any deployment recorded while Redis is down (the sweep puts its job back)."""
    names = live_host_names(fresh=False)
    if names is None:
        window = 3 * settings.SWEEP_SECONDS + settings.WORKER_DEAD_AFTER
        return Host.objects.filter(last_seen__gte=timezone.now() - timedelta(seconds=window))
    return Host.objects.filter(name__in=names)


def mark_unreachable(resources):
    """Set `host_unreachable` on each of `resources` (a list page's): whether the host it
    lives on has no live worker. At most one read of Redis (none within the liveness
    cache's seconds), and none at all when no resource on the page lives on a host; with
    Redis unreadable nothing is called unreachable (the page says the queue is down
    instead). Returns the resources."""
    resources = list(resources)
    placed = {r.host_id for r in resources if r.host_id is not None}
    names = live_host_names(fresh=False) if placed else set()
    hosts = host_names(placed) if placed and names is not None else {}
    for resource in resources:
        resource.host_unreachable = (names is not None and resource.host_id is not None
                                     and hosts.get(resource.host_id) not in names)
    return resources


_host_names = {}  # Host id -> name, for this process: a host's name never changes


def host_names(host_ids):
    """{id: name} of these hosts, read from the database once per process and host."""
    missing = set(host_ids) - _host_names.keys()
    if missing:
        _host_names.update(Host.objects.filter(pk__in=missing).values_list("pk", "name"))
    return {pk: _host_names.get(pk) for pk in host_ids}


def is_unreachable(resource):
    return mark_unreachable([resource])[0].host_unreachable


def unreachable_message(resource):
    return (f"{resource.name} lives on host {resource.host.name}, which is unreachable: no "
            "worker there has answered for a while. Nothing can be deployed to it until "
            "the host is back (or an operator moves it with drain_host).")


def host_tick():
    """This host's periodic work, run on its own queue: refresh its record, remove the work
    directories of killed jobs, tend what runs here (a model's `tend_host`, e.g. the
    guests' network boundary) and stop the guests no record wants (they run here, so only
    this host can)."""
    from . import workdirs
    from .models import resource_models

    Host.register_this()
    try:
        workdirs.reap()  # what killed jobs left (a cancel kills its work horse)
        workdirs.reap_old()
    except OSError:
        log.exception("removing the work directories of killed jobs failed")
    for model in resource_models():
        tend = getattr(model, "tend_host", None)
        try:
            if tend:
                tend()
        except Exception:  # the reaping below must run whatever this did
            log.exception("tending %s on this host failed", model.__name__)
    return [str(r) for model in resource_models() for r in model.reap_untracked()]


def enqueue_host_ticks():
    """Put one host tick on the queue of every live host that has none waiting."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    queued = []
    for name in sorted(live_host_names() or ()):  # None: Redis down, nothing to queue on
        q = host_queue(name)
        job_id = f"host-tick-{name}"
        try:
            if Job.fetch(job_id, connection=q.connection,
                         serializer=q.serializer).get_status() in ("queued", "started"):
                continue
        except NoSuchJobError:
            pass
        q.enqueue(host_tick, job_id=job_id, job_timeout=600, result_ttl=3600)
        queued.append(name)
    return queued


class NoRoom(Exception):
    """No live host can take a new resource (message for the user)."""


NO_HOST = ("No machine is available to run it right now: no worker host is up. Nothing was "
           "created; try again in a minute or ask the operator.")


def place(resource):
    """The live host with the most room for the new `resource` (the model judges room:
    memory for VMs, the number of sites for sites). Raises NoRoom."""
    hosts = list(live_hosts())
    if not hosts:
        raise NoRoom(NO_HOST)
    host = resource.pick_host(hosts)
    if host is None:
        raise NoRoom(resource.no_room_message(hosts))
    return host
