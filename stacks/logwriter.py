"""Appends a deployment's output to its row as it comes, from any thread.

Pulumi calls back on threads of its own; a single writer thread batches the lines and
appends them with one UPDATE each time, so the page can show the log while it grows
and a crash loses at most the last fraction of a second.
"""
import logging
import queue
import threading
import time

from django.db import close_old_connections, connection
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat

FLUSH_SECONDS = 0.25


class LogWriter:
    def __init__(self, deployment_id):
        self.deployment_id = deployment_id
        self._lines = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def line(self, text):
        self._lines.put(text.rstrip("\n") + "\n")

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
            parts.append(item)

    def _append(self, chunk):
        close_old_connections()
        append_log(self.deployment_id, chunk)


def append_log(deployment_id, text):
    """Add text at the end of a deployment's log in one UPDATE (no read, no race)."""
    from .models import Deployment

    Deployment.objects.filter(pk=deployment_id).update(
        log=Concat(F("log"), Value(text), output_field=TextField())
    )


class LogHandler(logging.Handler):
    """Routes ordinary Python logging into a deployment's log while its job runs."""

    def __init__(self, writer):
        super().__init__(logging.INFO)
        self.writer = writer
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        self.writer.line(self.format(record))
