"""django-rq's `rqcron`, enqueueing periodic jobs through our JSON queue."""
import logging

import django_rq
from django_rq.management.commands import rqcron

from stacks.rqworker import JSONCronScheduler


class Command(rqcron.Command):
    help = ("Run the periodic jobs a cron file registers (as `rqcron` does), enqueued "
            "with the queue's JSON serializer so that Herocool's workers accept them.")

    def handle(self, *args, config_path, logging_level, **options):
        # Connected from the start: with nothing registered yet, rqcron has no connection
        # to record its own heartbeat on, and crashes.
        scheduler = JSONCronScheduler(connection=django_rq.get_connection("default"),
                                      logging_level=getattr(logging, logging_level))
        self.stdout.write(f"Loading cron configuration from {config_path}")
        scheduler.load_config_from_file(config_path)
        self.stdout.write(f"Starting cron scheduler with {len(scheduler.get_jobs())} jobs...")
        scheduler.start()
