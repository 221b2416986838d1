"""The RQ workers Herocool runs: they read jobs as JSON only and run only our functions.

Anyone who can write to Redis can put a job on our queue. RQ would import and call any
function a job names (`os.system` included) and, with its default serializer, unpickle
the job's data, which alone runs code. So every job is read with the JSON serializer,
and one that names a function outside `settings.HEROCOOL_JOB_FUNCTIONS` (or carries
callbacks, webhooks or a bound instance, which ours never do) is refused: logged,
marked failed, and nothing it names is imported or called.

`manage.py rqworker` uses `HerocoolWorker` through django-rq's `RQ["WORKER_CLASS"]`;
tests run jobs in-process with `HerocoolSimpleWorker`, under the same rules.
`manage.py scheduler` (not django-rq's rqcron) enqueues periodic jobs as JSON.
"""
import importlib
import logging
import sys
import threading
import uuid

import django_rq
from django.conf import settings
from django_rq.cron import DjangoCronScheduler
from rq import cron_job_registry
from rq.defaults import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL
from rq.exceptions import DeserializationError
from rq.serializers import JSONSerializer
from rq.utils import now
from rq.worker import SimpleWorker, Worker

log = logging.getLogger(__name__)


class JobRefused(Exception):
    """A job this platform did not put on the queue."""


def refusal(job):
    """Why `job` must not run, or None when it is one of ours."""
    try:
        func_name, instance = job.func_name, job.instance
    except DeserializationError:
        return "its data is not JSON"
    if func_name not in settings.HEROCOOL_JOB_FUNCTIONS:
        return f"{func_name!r} is not one of Herocool's job functions"
    if instance is not None:
        return "it names a bound method"
    if (job._success_callback_name or job._failure_callback_name
            or job._stopped_callback_name or job.webhooks):
        return "it carries callbacks or webhooks"
    return None


def _disarm(job):
    """Nothing a refused job names may run while RQ records its failure."""
    job._success_callback_name = job._failure_callback_name = None
    job._stopped_callback_name = None
    job._success_callback = job._failure_callback = job._stopped_callback = None
    job.webhooks = []
    job.retries_left = None


class AllowedJobsOnly:
    """Mixed into an RQ worker: reads JSON, refuses and fails jobs that are not ours."""

    def __init__(self, queues, *args, serializer=None, **kwargs):
        # django-rq's rqworker passes RQ's pickle serializer unless told otherwise:
        # whatever is passed, these workers read JSON only. A busy worker heartbeats
        # every WORKER_HEARTBEAT seconds: the sweep takes a silent one for dead.
        kwargs.setdefault("job_monitoring_interval", settings.WORKER_HEARTBEAT)
        super().__init__(with_host_queue(queues), *args, serializer=JSONSerializer,
                         **kwargs)

    def work(self, *args, **kwargs):
        if settings.HOST_QUEUE in self.queue_names():
            self._register_host()
        return super().work(*args, **kwargs)

    def _register_host(self):
        """This machine's record (capacity, sites origin) as its worker starts; should
        the database not answer yet, the host tick writes it a minute later."""
        from django.db import DatabaseError, connections

        from .hosts import Host

        try:
            Host.register_this()
        except DatabaseError as exc:
            log.warning("could not record host %s yet: %s", settings.HEROCOOL_HOST, exc)
        if not isinstance(self, SimpleWorker):
            connections.close_all()  # forked jobs must not share this connection

    def perform_job(self, job, queue, execution):
        reason = refusal(job)
        if reason is None:
            return super().perform_job(job, queue, execution)
        log.error("Refused job %s from queue %s: %s", job.id, queue.name, reason)
        _disarm(job)
        try:
            self.prepare_job_execution(job, remove_from_intermediate_queue=len(self.queues) == 1)
        except DeserializationError:
            pass  # its bookkeeping is done; only the process title wanted the function name
        try:
            raise JobRefused(f"Refused: {reason}.")
        except JobRefused:
            self._finalize_failure(job, queue, execution, sys.exc_info())
        return False


def with_host_queue(queues):
    """A worker that takes deployments (serves `default`) takes its host's too: the jobs
    of the resources that live on this machine (stacks/hosts.py)."""
    queues = list(queues) if isinstance(queues, (list, tuple)) else [queues]
    names = [getattr(q, "name", q) for q in queues]
    if "default" not in names or settings.HOST_QUEUE in names:
        return queues
    if all(isinstance(q, str) for q in queues):
        return [*queues, settings.HOST_QUEUE]
    return [*queues, django_rq.get_queue(settings.HOST_QUEUE)]


# Imported once by the worker's parent: every local deployment's program and provider,
# and the gRPC server the engine serves a program from (10 ms a job; importing starts no
# thread, so forking stays safe). (The AWS programs' pulumi_aws is left to the jobs that
# need it: seconds to import.)
WARM_MODULES = ("sites.programs.local", "vms.programs.local", "pulumi.dynamic",
                "grpc._server", "grpc._channel", "grpc.experimental")


def warm_up():
    """What every job needs, done once in the worker's parent so that each forked work
    horse starts warm: the job functions' modules (Django's models, the engine and the
    Automation API with them), the local programs, the URL resolver, the content types,
    and the CLI's version check, whose result the engine keeps for the process (and so
    for its forks)."""
    for name in settings.HEROCOOL_JOB_FUNCTIONS:
        importlib.import_module(name.rpartition(".")[0])
    for name in WARM_MODULES:
        importlib.import_module(name)
    _warm_urls()
    _warm_content_types()
    from stacks import engine

    try:
        engine.pulumi_command()
    except engine.EngineError as exc:  # each job will say so in its own log
        log.warning("%s", exc)


def _warm_urls():
    """A job links to its deployment's page (the webhook payload, the failure email):
    the first reverse() in a process loads the URLconf and builds the resolver's reverse
    index, 0.15 s of each forked update's 1.6 s when left to the work horse."""
    from .urlcache import code_url

    code_url("stacks-deployment", uuid.UUID(int=0))


def _warm_content_types():
    """A job reads its deployment's resource through a generic relation, whose content
    type Django caches per process: read once here, not by every work horse (a query
    before its CLI can start)."""
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType
    from django.db import DatabaseError, connections

    try:
        ContentType.objects.get_for_models(*apps.get_models())
    except DatabaseError as exc:  # each job reads its own then
        log.warning("could not read the content types yet: %s", exc)
    finally:
        connections.close_all()  # forked jobs must not share this connection


class HerocoolWorker(AllowedJobsOnly, Worker):
    """The forking worker `manage.py rqworker` runs (a work-horse process per job),
    warmed up once before its first job."""

    def work(self, *args, **kwargs):
        warm_up()
        return super().work(*args, **kwargs)


class HerocoolSimpleWorker(AllowedJobsOnly, SimpleWorker):
    """The same rules, running jobs in the worker's own process (tests).

    A forking worker's parent heartbeats while its work-horse runs a job; this one runs
    the job itself, so a thread heartbeats meanwhile, every second (tests run the sweep
    with a 1 s heartbeat): otherwise a sweep running beside it takes any job longer than
    three heartbeats for one whose worker died."""

    HEARTBEAT_SECONDS = 1

    def execute_job(self, job, queue):
        stop = threading.Event()

        def beat():
            while not stop.wait(self.HEARTBEAT_SECONDS):
                self.heartbeat()

        beating = threading.Thread(target=beat, daemon=True)
        beating.start()
        try:
            return super().execute_job(job, queue)
        finally:
            stop.set()
            beating.join()


class JSONCronScheduler(DjangoCronScheduler):
    """django-rq's cron scheduler, enqueueing through our queue (JSON) rather than
    RQ's CronJob.enqueue, which builds a pickle-serializing Queue of its own, whose jobs
    the workers above would refuse."""

    def enqueue_jobs(self):
        enqueue_time = now()
        due = [cron_job for cron_job in self._cron_jobs if cron_job.should_run()]
        for cron_job in due:
            _enqueue_cron_job(cron_job)
            cron_job.set_enqueue_time(enqueue_time)
        return due


def _enqueue_cron_job(cron_job):
    """rq.cron.CronJob.enqueue (rq 3.0), with the queue from RQ_QUEUES."""
    queue = django_rq.get_queue(cron_job.queue_name)
    connection = queue.connection
    with connection.pipeline() as pipeline:
        job = queue.enqueue(cron_job.func, args=cron_job.args, kwargs=cron_job.kwargs,
                            **cron_job.job_options, pipeline=pipeline)
        pipeline.zadd(cron_job.job_history_key, {job.id: job.enqueued_at.timestamp()})
        pipeline.zremrangebyrank(cron_job.job_history_key, 0,
                                 -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
        pipeline.expire(cron_job.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
        cron_job_registry.add(cron_job.name, pipeline,
                              enqueue_timestamp=job.enqueued_at.timestamp())
        pipeline.execute()
    log.info("Enqueued %s on %s", job.func_name, cron_job.queue_name)
    return job
