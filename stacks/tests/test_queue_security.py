"""The job queue is closed to local accounts: Redis needs its password, the worker reads
jobs as JSON only and runs only Herocool's own functions (issue 10, finding 1)."""
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import django_rq
import pytest
from django.conf import settings
from rq.job import Job
from rq.serializers import JSONSerializer

from herocool_project.env import write_redis_config
from stacks.rqworker import JSONCronScheduler, _enqueue_cron_job


def redis_cli(port, *args, password=None):
    env = {**os.environ, "REDISCLI_AUTH": password} if password else {
        k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    done = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                          env=env, capture_output=True, text=True, timeout=10)
    return (done.stdout + done.stderr).strip()


def test_the_test_redis_refuses_a_client_without_its_password():
    url = urlsplit(settings.REDIS_URL)
    assert url.password, "scripts/services.sh must start Redis with a password"
    assert "NOAUTH" in redis_cli(url.port, "ping")
    assert "NOAUTH" in redis_cli(url.port, "rpush", "rq:queue:default", "x")
    assert redis_cli(url.port, "ping", password=url.password) == "PONG"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_run_redis(tmp_path, monkeypatch):
    """The Redis `make run` starts: our redis.conf from a fresh data dir, started as the
    Procfile's `redis` line starts it."""
    port = free_port()
    monkeypatch.setenv("HEROCOOL_REDIS_PORT", str(port))
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    monkeypatch.delenv("REDIS_PASSWORD_FILE", raising=False)
    data = tmp_path / "data"
    conf = write_redis_config(data)
    proc = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while "NOAUTH" not in redis_cli(port, "ping") and time.monotonic() < deadline:
            time.sleep(0.1)
        yield proc, port, data
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_make_runs_redis_needs_the_generated_password(make_run_redis):
    """Without the password: NOAUTH; with the one kept in the data dir: it answers."""
    proc, port, data = make_run_redis
    password = (data / "redis_password").read_text().strip()
    assert "NOAUTH" in redis_cli(port, "ping")
    assert redis_cli(port, "ping", password=password) == "PONG"
    assert redis_cli(port, "config", "get", "bind", password=password).endswith("127.0.0.1")


def test_make_runs_redis_password_is_on_no_command_line_and_in_private_files(
        make_run_redis):
    proc, port, data = make_run_redis
    password = (data / "redis_password").read_text().strip()
    cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
    assert password not in cmdline  # `ps` shows command lines to every local account
    for private in (data / "redis_password", data / "redis" / "redis.conf"):
        assert private.stat().st_mode & 0o777 == 0o600, private


def test_settings_build_redis_url_with_the_password_kept_in_the_data_dir(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.conf import settings; print(settings.REDIS_URL)"],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("REDIS_")},
             "HEROCOOL_DATA_DIR": str(tmp_path / "data"), "HEROCOOL_REDIS_PORT": "6390"})
    password = (tmp_path / "data" / "redis_password").read_text().strip()
    assert done.stdout.splitlines()[-1] == f"redis://:{password}@127.0.0.1:6390/0", done.stderr


# --- the worker runs only our jobs ---------------------------------------------------

def run_worker_burst():
    """A real `manage.py rqworker default --burst` (the worker class from settings)."""
    return subprocess.run([sys.executable, "manage.py", "rqworker", "default", "--burst"],
                          cwd=settings.BASE_DIR, capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())


def test_a_job_naming_os_system_is_refused_failed_and_logged(queue, tmp_path):
    marker = tmp_path / "pwned"
    job = queue.enqueue("os.system", f"touch {marker}")
    done = run_worker_burst()
    job = Job.fetch(job.id, connection=queue.connection, serializer=queue.serializer)
    assert not marker.exists()
    assert job.get_status() == "failed"
    assert "Refused" in job.latest_result().exc_string
    assert f"Refused job {job.id}" in done.stderr, done.stderr
    assert "'os.system' is not one of Herocool's job functions" in done.stderr


class Pwn:
    """A pickle that runs a command when it is loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickled_job_is_never_unpickled(queue, tmp_path):
    """A job written as RQ's default (pickle) serializer would: loading it would run a
    command. Our worker reads JSON only, so it fails the job and nothing runs."""
    marker = tmp_path / "pwned"
    job = queue.enqueue("stacks.jobs.release_stack", 1)
    queue.connection.hset(job.key, "data",
                          pickle.dumps(("stacks.jobs.release_stack", None, (Pwn(marker),), {})))
    done = run_worker_burst()
    assert not marker.exists()
    assert Job.fetch(job.id, connection=queue.connection,
                     serializer=queue.serializer).get_status() == "failed"
    assert "its data is not JSON" in done.stderr, done.stderr


def test_one_of_our_functions_with_a_foreign_callback_is_refused(queue, run_jobs, db):
    # (db: a worker that serves `default` records its host as it starts)
    job = queue.enqueue("stacks.jobs.release_stack", 1)
    queue.connection.hset(job.key, "failure_callback_name", "os.system")
    run_jobs()  # the in-process worker the tests use follows the same rules
    job = Job.fetch(job.id, connection=queue.connection, serializer=queue.serializer)
    assert job.get_status() == "failed"
    assert "callbacks or webhooks" in job.latest_result().exc_string


def test_the_queue_and_every_worker_read_json():
    queue = django_rq.get_queue("default")
    assert queue.serializer is JSONSerializer
    from django_rq.workers import get_worker

    # rqworker passes RQ's pickle serializer by default; our worker ignores it.
    worker = get_worker("default", serializer="rq.serializers.DefaultSerializer")
    assert type(worker).__name__ == "HerocoolWorker"
    assert worker.serializer is JSONSerializer


def test_the_scheduler_enqueues_json_jobs_the_worker_accepts(queue):
    """rq's own CronJob.enqueue would pickle; ours goes through the JSON queue."""
    from stacks.jobs import release_stack

    scheduler = JSONCronScheduler()
    cron_job = scheduler.register(release_stack, "default", args=(0,), interval=60)
    job = _enqueue_cron_job(cron_job)
    stored = Job.fetch(job.id, connection=queue.connection, serializer=JSONSerializer)
    assert (stored.func_name, list(stored.args)) == ("stacks.jobs.release_stack", [0])
    assert job.id in queue.job_ids
