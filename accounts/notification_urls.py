from django.urls import path

from . import notifications as views

urlpatterns = [
    path("", views.notifications, name="accounts-notifications"),
    path("webhooks/", views.webhook_create, name="accounts-webhook-create"),
    path("webhooks/<uuid:code>/", views.webhook_detail, name="accounts-webhook"),
    path("webhooks/<uuid:code>/delete/", views.webhook_delete,
         name="accounts-webhook-delete"),
    path("webhooks/<uuid:code>/ping/", views.webhook_ping, name="accounts-webhook-ping"),
]
