"""A real forking RQ worker on the notifications queue for tests: deliveries may reach a
receiver on loopback (the test-only setting, which no environment variable can turn on)
and a failed attempt is retried one second later."""
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

settings.HEROCOOL_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS = True
settings.WEBHOOK_BACKOFF = (1,)
call_command("rqworker", settings.NOTIFY_QUEUE)
