"""The directory where gunicorn's processes share their metrics, set up by its master.

prometheus_client chooses multiprocess mode when it is first imported, from
PROMETHEUS_MULTIPROC_DIR: so the master sets it (and empties the directory of the last
run's files) before any worker is forked or imports the app. This module must not
import prometheus_client itself. In a gunicorn config file:

    from herocool_project.multiprocess_dir import on_starting  # noqa: F401

(With preload_app, gunicorn loads the app before on_starting: call prepare() at the top
of the config file instead.) Only a histogram is shared, so no child_exit hook is needed
(mark_process_dead matters for "live" gauges only).
"""
import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(path):
    """Empty (or create) the private directory and name it for the processes to come."""
    path = Path(path)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700, parents=True)
    os.environ[ENV] = str(path)
    return path


def on_starting(server):
    """gunicorn's master hook: before the workers are forked."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")
    from django.conf import settings

    prepare(settings.METRICS_DIR)
