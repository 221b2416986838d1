"""WSGI entry point (gunicorn: `herocool_project.wsgi`)."""
import os

# Everything the web process writes is readable by its own account only (see manage.py).
os.umask(0o077)

from django.core.wsgi import get_wsgi_application  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")
application = get_wsgi_application()
