from django.urls import path

from . import views

urlpatterns = [
    path("<uuid:code>/", views.deployment, name="stacks-deployment"),
    path("<uuid:code>/log/", views.deployment_log, name="stacks-deployment-log"),
]
