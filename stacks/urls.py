from django.urls import path

from . import views

urlpatterns = [
    path("", views.activity, name="stacks-activity"),
    path("<uuid:code>/", views.deployment, name="stacks-deployment"),
    path("<uuid:code>/cancel/", views.cancel, name="stacks-deployment-cancel"),
    path("<uuid:code>/apply/", views.apply_preview, name="stacks-deployment-apply"),
    path("<uuid:code>/log/", views.deployment_log, name="stacks-deployment-log"),
]
