from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("sites/", include("sites.urls")),
    path("vms/", include("vms.urls")),
    path("deployments/", include("stacks.urls")),
    path("admin/", admin.site.urls),
]
