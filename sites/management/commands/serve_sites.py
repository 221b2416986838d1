"""Serve published sites on their own origin (never the platform's)."""
import logging

from django.conf import settings
from django.core.management.base import BaseCommand

from sites.origin import serve

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = ("Serve the local target's published sites, one host name per site "
            "(e.g. http://<stack>.localhost:8001/), on a port of their own.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.SITES_PORT)

    def handle(self, *args, host, port, **options):
        settings.SITES_ROOT.mkdir(parents=True, exist_ok=True)
        _record_host()
        self.stdout.write(f"Serving {settings.SITES_ROOT} on http://{host}:{port}/")
        serve(settings.SITES_ROOT, host, port)


def _record_host():
    """This machine's record names this origin (sites' URLs name it); the worker and its
    tick write it too, so a database not up yet is no reason to stop serving."""
    from django.db import DatabaseError, connections

    from stacks.hosts import Host

    try:
        Host.register_this()
    except DatabaseError as exc:
        logger.warning("could not record host %s yet: %s", settings.HEROCOOL_HOST, exc)
    connections.close_all()  # the server's threads never use it
