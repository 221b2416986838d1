from django.urls import path

from . import machine_views, views

urlpatterns = [
    path("", views.index, name="vms-index"),
    path("new/", views.create, name="vms-create"),
    path("<uuid:code>/", views.detail, name="vms-detail"),
    path("<uuid:code>/edit/", views.update, name="vms-update"),
    path("<uuid:code>/delete/", views.delete, name="vms-delete"),
    path("<uuid:code>/refresh/", views.refresh, name="vms-refresh"),
    path("<uuid:code>/retry/", views.retry, name="vms-retry"),
    path("<uuid:code>/expiry/", views.expiry, name="vms-expiry"),
    path("<uuid:code>/stop/", machine_views.power, {"action": "stop"}, name="vms-stop"),
    path("<uuid:code>/start/", machine_views.power, {"action": "start"}, name="vms-start"),
    path("<uuid:code>/reboot/", machine_views.power, {"action": "reboot"}, name="vms-reboot"),
    path("<uuid:code>/console/", machine_views.console, name="vms-console"),
]
