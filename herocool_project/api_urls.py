"""/api/v1/: the REST API (issue #16) and its OpenAPI document."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from sites.api import SiteViewSet
from stacks.api import DeploymentViewSet
from vms.api import VmViewSet

# Path converters (<uuid:code>), not regexes: the routes read like the pages' own.
router = SimpleRouter(trailing_slash=True, use_regex_path=False)
router.register("sites", SiteViewSet, basename="api-sites")
router.register("vms", VmViewSet, basename="api-vms")
router.register("deployments", DeploymentViewSet, basename="api-deployments")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include(router.urls)),
]
