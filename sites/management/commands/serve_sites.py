"""Serve published sites on their own origin (never the platform's)."""
from django.conf import settings
from django.core.management.base import BaseCommand

from sites.origin import serve


class Command(BaseCommand):
    help = ("Serve the local target's published sites, one host name per site "
            "(e.g. http://<stack>.localhost:8001/), on a port of their own.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.SITES_PORT)

    def handle(self, *args, host, port, **options):
        settings.SITES_ROOT.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Serving {settings.SITES_ROOT} on http://{host}:{port}/")
        serve(settings.SITES_ROOT, host, port)
