"""What the scheduler process runs (`manage.py scheduler stacks/cron.py`, see the Procfile):
the recovery sweep, on the maintenance queue, every HEROCOOL_SWEEP_SECONDS."""
from django.conf import settings
from rq import cron

from stacks.sweep import sweep

cron.register(sweep, "maintenance", interval=settings.SWEEP_SECONDS,
              job_timeout=max(settings.SWEEP_SECONDS * 5, 300), result_ttl=3600)

# Notifications (issue #16): webhook deliveries whose back-off has passed.
from stacks.notify import retry_due  # noqa: E402

cron.register(retry_due, "maintenance", interval=settings.WEBHOOK_RETRY_SECONDS,
              job_timeout=300, result_ttl=600)

# Accounts (issue #18): departing accounts' destroys, then their data.
from accounts.leaving import advance_departures  # noqa: E402

cron.register(advance_departures, "maintenance", interval=settings.SWEEP_SECONDS,
              job_timeout=300, result_ttl=600)

# Expiry (issue #17): remind owners before, then destroy what has expired.
from stacks.expiry import expire_due  # noqa: E402

cron.register(expire_due, "maintenance", interval=settings.HEROCOOL_EXPIRY_SECONDS,
              job_timeout=300, result_ttl=600)
