"""Prometheus metrics on /metrics, for a bearer token or a staff session.

Deployments, the queue and the workers are read from the database and Redis when
scraped, so every web process gives the same answer. HTTP latency is measured in each
web process; under gunicorn (several processes) prometheus_client's multiprocess mode
sums them: see multiprocess_dir.py, which the web server's start-up hook calls.
"""
import hmac
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.http import HttpResponse, HttpResponseNotFound
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Histogram,
                               generate_latest, multiprocess, values)
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily)
from rq import Worker

from herocool_project import redisconn
from stacks.models import Deployment

log = logging.getLogger(__name__)

DEPLOYMENT_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

# Not in prometheus_client's global registry: each scrape builds its own (below).
HTTP_LATENCY = Histogram(
    "herocool_http_request_duration_seconds", "Time to answer an HTTP request.",
    ["view", "method", "status"], registry=None)


def latency_middleware(get_response):
    """Observe every request's duration, labelled by URL name, method and status."""

    def middleware(request):
        started = time.perf_counter()
        response = get_response(request)
        method = request.method if request.method in HTTP_METHODS else "other"
        HTTP_LATENCY.labels(view_label(request), method,
                            str(response.status_code)).observe(time.perf_counter() - started)
        return response

    return middleware


def view_label(request):
    """The URL's name: a small, fixed set of values, never the path itself."""
    match = getattr(request, "resolver_match", None)
    if match:
        return match.view_name
    # Served before URL resolution (whitenoise), or no such URL.
    return "static" if request.path.startswith(settings.STATIC_URL) else "unresolved"


def is_multiprocess():
    """True when this process writes its values to the shared directory."""
    return getattr(values.ValueClass, "_multiprocess", False)


def registry():
    """Everything one scrape shows: the processes' HTTP latency and the platform's state."""
    found = CollectorRegistry()
    if is_multiprocess():
        multiprocess.MultiProcessCollector(found)
    else:
        found.register(HTTP_LATENCY)
    found.register(PlatformCollector())
    return found


def authorized(request):
    """A bearer token equal to METRICS_TOKEN (constant time), or a staff session."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if settings.METRICS_TOKEN and scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), settings.METRICS_TOKEN.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


@require_safe
def endpoint(request):
    """The metrics in Prometheus' text format; 404 to anyone else."""
    if not authorized(request):  # plain: a probe's Host may not be one of ours
        return HttpResponseNotFound("Not Found\n", content_type="text/plain")
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})


class PlatformCollector:
    """Deployments from the database, queues and workers from Redis, at scrape time."""

    def describe(self):
        return []  # nothing to query when registered

    def collect(self):
        up = GaugeMetricFamily("herocool_metrics_source_up",
                               "Whether a source of metrics answered.", labels=["source"])
        for source, families in (("database", deployment_families),
                                 ("redis", queue_families)):
            try:
                yield from families()
                up.add_metric([source], 1)
            except Exception as exc:  # noqa: BLE001 - the other source's metrics still count
                log.warning("metrics: %s unavailable (%s)", source, exc)
                up.add_metric([source], 0)
        yield up


def deployment_families():
    """One pass over the deployments: counts, run times, and the oldest still queued."""
    finished = CounterMetricFamily(
        "herocool_deployments", "Deployments finished, by action and result.",
        labels=["action", "result"])
    active = GaugeMetricFamily(
        "herocool_deployments_active", "Deployments queued or running now.",
        labels=["action", "status"])
    durations = HistogramMetricFamily(
        "herocool_deployment_duration_seconds",
        "How long finished deployments ran (start to finish), by action and result.",
        labels=["action", "result"])
    for row in deployment_rows():
        labels = [row["action"], row["status"]]
        if row["status"] in Deployment.ACTIVE_STATES:
            active.add_metric(labels, row["n"])
            continue
        finished.add_metric(labels, row["n"])
        buckets = [(str(float(bound)), row[f"le{i}"])
                   for i, bound in enumerate(DEPLOYMENT_BUCKETS)]
        durations.add_metric(labels, buckets + [("+Inf", row["timed"])],
                             sum_value=row["total"].total_seconds() if row["total"] else 0.0)
    oldest = Deployment.objects.filter(status=Deployment.State.QUEUED).aggregate(
        at=Min("queued_at"))["at"]
    waiting = GaugeMetricFamily(
        "herocool_deployment_oldest_queued_age_seconds",
        "Age of the oldest deployment recorded as queued (0: none).")
    waiting.add_metric([], _age(oldest))
    return [finished, active, durations, waiting]


def deployment_rows():
    """Per action and status: how many, how many ran (with a duration), their total
    run time, and how many ran within each bucket's bound."""
    duration = ExpressionWrapper(F("finished_at") - F("started_at"),
                                 output_field=DurationField())
    buckets = {f"le{i}": Count("pk", filter=Q(duration__lte=timedelta(seconds=bound)))
               for i, bound in enumerate(DEPLOYMENT_BUCKETS)}
    return (Deployment.objects.annotate(duration=duration).values("action", "status")
            .annotate(n=Count("pk"), timed=Count("duration"), total=Sum("duration"),
                      **buckets)
            .order_by("action", "status"))


def queue_families():
    depth = GaugeMetricFamily("herocool_queue_jobs", "Jobs waiting in a queue.",
                              labels=["queue"])
    age = GaugeMetricFamily("herocool_queue_oldest_job_age_seconds",
                            "Age of a queue's oldest waiting job (0: empty).",
                            labels=["queue"])
    for queue in platform_queues():
        name = queue.name
        depth.add_metric([name], queue.count)
        oldest = queue.get_job_ids(0, 1)
        job = queue.fetch_job(oldest[0]) if oldest else None
        age.add_metric([name], _age(job.enqueued_at if job else None))
    return [depth, age, worker_family()]


def platform_queues():
    """The shared queues, then the queue of every host the platform knows (whatever
    machine this web process runs on: it is not one of them)."""
    from stacks.hosts import QUEUE_PREFIX, Host, host_queue

    shared = [redisconn.queue(name) for name in sorted(settings.RQ_QUEUES)
              if not name.startswith(QUEUE_PREFIX)]
    return shared + [host_queue(name) for name in
                     Host.objects.order_by("name").values_list("name", flat=True)]


def worker_family():
    workers = GaugeMetricFamily("herocool_workers", "RQ workers alive, by state.",
                                labels=["state"])
    states = {}
    for worker in Worker.all(connection=redisconn.connection()):
        state = worker.get_state()
        state = str(getattr(state, "value", state))  # a WorkerStatus or its stored text
        states[state] = states.get(state, 0) + 1
    for state in ("busy", "idle"):
        states.setdefault(state, 0)
    for state, count in sorted(states.items()):
        workers.add_metric([state], count)
    return workers


def _age(moment):
    return max((timezone.now() - moment).total_seconds(), 0.0) if moment else 0.0
