"""gunicorn's settings for the Procfile's `web` (gunicorn -c herocool_project/gunicorn.py).

Threaded workers (gthread): WEB_CONCURRENCY processes (default: one per CPU), each with
WEB_THREADS threads (default 8). Measured in BENCHMARKS.md section 5b against the sync
worker: since gunicorn 26 a sync worker, after each response, waits for the client to
close its side before it takes the next connection (util.close_graceful, up to 2 s), so
one slow client stalls a whole process; a gthread worker waits in one thread while the
others serve. The application is loaded once in the master (preload_app) so that every
worker starts warm instead of importing Django on its first request.
"""
import os

bind = f"{os.environ.get('HEROCOOL_WEB_BIND', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
threads = int(os.environ.get("WEB_THREADS") or 8)
# Connections one worker takes at a time (gunicorn's default: 1000).
worker_connections = int(os.environ.get("WEB_CONNECTIONS") or 1000)
preload_app = True
umask = 0o077  # gunicorn's own default is 0: what the web tier writes stays private
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'

# The workers share their metrics through a directory this master empties and names
# before the application (and with it prometheus_client) is loaded: preload_app loads it
# before gunicorn's on_starting hook would run (herocool_project/multiprocess_dir.py).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")
from django.conf import settings  # noqa: E402

from herocool_project.multiprocess_dir import prepare  # noqa: E402

prepare(settings.METRICS_DIR)
