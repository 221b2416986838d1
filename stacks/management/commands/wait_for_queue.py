"""Wait until Redis answers (with our password), so that a worker or the scheduler
started beside Redis by the process manager does not exit before Redis is up."""
import time

import django_rq
from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import ConnectionError as RedisConnectionError


class Command(BaseCommand):
    help = "Exit 0 once the job queue's Redis answers; non-zero after --timeout seconds."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args, timeout, **options):
        connection = django_rq.get_connection("default")
        deadline = time.monotonic() + timeout
        while True:
            try:
                connection.ping()
                return
            except RedisConnectionError as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"the job queue did not answer: {exc}") from None
                time.sleep(0.2)
