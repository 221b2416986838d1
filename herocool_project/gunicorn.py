"""gunicorn's settings for the Procfile's `web` (gunicorn -c herocool_project/gunicorn.py)."""
import os

bind = f"{os.environ.get('HEROCOOL_WEB_BIND', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Sync workers, one request each: 2 × CPUs + 1 unless WEB_CONCURRENCY says otherwise.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
umask = 0o077  # gunicorn's own default is 0: what the web tier writes stays private
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
