from django.contrib import admin
from django.urls import include, path

from accounts.views import admin_login

urlpatterns = [
    path("", include("accounts.urls")),
    path("sites/", include("sites.urls")),
    path("vms/", include("vms.urls")),
    path("deployments/", include("stacks.urls")),
    # Before the admin's own URLs, so its login goes through the login limits.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
]
