"""Appends a deployment's output to its log as it comes, from any thread.

Pulumi calls back on threads of its own; a single writer thread batches the lines and
appends them as one new chunk (one INSERT) each time, so the page can show the log while
it grows, a crash loses at most the last fraction of a second, and a flush costs what
its own text costs however long the log already is. The same thread, with its own
database connection, runs the job's bookkeeping that need not delay the engine (`call`).
"""
import logging
import queue
import threading
import time

from django.db import IntegrityError, close_old_connections, connection, transaction

FLUSH_SECONDS = 0.25
# Each failed attempt means another writer appended meanwhile; there are two at most
# (the job's writer and a sweep's line), so this many is never reached but by a bug.
APPEND_ATTEMPTS = 20
log = logging.getLogger(__name__)


class LogWriter:
    def __init__(self, deployment_id):
        self.deployment_id = deployment_id
        self._lines = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def line(self, text):
        self._lines.put(text.rstrip("\n") + "\n")

    def call(self, fn, *args):
        """Run fn(*args) on the writer's thread, off the caller's path; returns an Event
        set once it has run (or failed: logged)."""
        done = threading.Event()
        self._lines.put((fn, args, done))
        return done

    def close(self):
        self._lines.put(None)
        self._thread.join()

    def _run(self):
        try:
            done = False
            while not done:
                chunk, done = self._drain()
                if chunk:
                    self._append(chunk)
        finally:
            connection.close()

    def _drain(self):
        """Take the lines that come within one flush interval; True once closed."""
        parts = []
        deadline = time.monotonic() + FLUSH_SECONDS
        while True:
            try:
                item = self._lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                return "".join(parts), False
            if item is None:
                return "".join(parts), True
            if isinstance(item, tuple):
                _run_call(*item)
                continue
            parts.append(item)

    def _append(self, chunk):
        close_old_connections()
        append_log(self.deployment_id, chunk)


def _run_call(fn, args, done):
    try:
        close_old_connections()
        fn(*args)
    except Exception:  # noqa: BLE001 - bookkeeping must not stop the log
        log.exception("%s failed on the log writer's thread", getattr(fn, "__name__", fn))
    finally:
        done.set()


def append_log(deployment_id, text):
    """Add text at the end of a deployment's log: one INSERT of a chunk that starts
    where the last one ends (found through the index). When another writer took that
    start first, the unique (deployment, start) refuses this one and it tries again."""
    if not text:
        return
    text = text.replace("\x00", "\ufffd")  # PostgreSQL text cannot hold NUL; same length
    for attempt in range(1, APPEND_ATTEMPTS + 1):
        try:
            if connection.in_atomic_block:
                with transaction.atomic():  # a savepoint, so that a retry is possible
                    _insert_chunk(deployment_id, text)
            else:
                _insert_chunk(deployment_id, text)
            return
        except IntegrityError:
            if attempt == APPEND_ATTEMPTS:
                raise


def _insert_chunk(deployment_id, text):
    from .models import DeploymentLogChunk

    q = connection.ops.quote_name
    table, deployment, start, end, body = (q(name) for name in (
        DeploymentLogChunk._meta.db_table, "deployment_id", "start", "end", "text"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({deployment}, {start}, {end}, {body}) "
            f"SELECT %s, COALESCE(MAX({end}), 0), COALESCE(MAX({end}), 0) + %s, %s "
            f"FROM {table} WHERE {deployment} = %s",
            [deployment_id, len(text), text, deployment_id])


class LogHandler(logging.Handler):
    """Routes ordinary Python logging into a deployment's log while its job runs."""

    def __init__(self, writer):
        super().__init__(logging.INFO)
        self.writer = writer
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        self.writer.line(self.format(record))
