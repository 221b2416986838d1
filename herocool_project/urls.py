from django.contrib import admin
from django.urls import include, path

from accounts.views import admin_login

from . import health, metrics

urlpatterns = [
    # For load balancers and monitors (herocool_project/health.py, metrics.py).
    path("healthz", health.live, name="health-live"),
    path("readyz", health.ready, name="health-ready"),
    path("metrics", metrics.endpoint, name="metrics"),
    path("", include("accounts.urls")),
    path("sites/", include("sites.urls")),
    path("vms/", include("vms.urls")),
    path("deployments/", include("stacks.urls")),
    path("api/v1/", include("herocool_project.api_urls")),
    # Before the admin's own URLs, so its login goes through the login limits.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
]
