"""/api/v1/sites/: a user's sites, validated by the pages' own forms."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from stacks.api import (NAME_PARAM, TEAM_PARAM, ChangeSerializer, ExpiryInput,
                        MonthlyEstimateField, OwnerInput, ResourceViewSet, accepted, body_of,
                        refused_as_api)

from . import releases
from .forms import SiteContentForm, SiteCreateForm
from .models import Site
from .releases import Release


class SiteSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="website_url", read_only=True)
    monthly_usd = MonthlyEstimateField()
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Site
        fields = ["code", "name", "status", "source", "source_url", "url", "last_error",
                  "target", "created", "updated", "monthly_usd", "expires_at",
                  "custom_domain", "team"]


class SiteContentInput(serializers.Serializer):
    """The page: pasted `html` (source "html"), a `url` fetched by the job (source
    "url"), or a whole site's `folder` as a .zip or .tar.gz (source "archive", sent as
    multipart/form-data). Checked by the same rules and messages as the site's page."""

    source = serializers.ChoiceField(choices=["html", "url", "archive"])
    html = serializers.CharField(required=False, trim_whitespace=False)
    url = serializers.CharField(required=False)
    folder = serializers.FileField(required=False)
    domain = serializers.CharField(required=False, help_text=(
        "aws target only: the site's own domain (\"\" for none); its DNS records are in "
        "the site's outputs (certificate_validation, cdn_domain)."))


class ReleaseSerializer(serializers.ModelSerializer):
    live = serializers.BooleanField(read_only=True, default=False)

    class Meta:
        model = Release
        fields = ["number", "created", "source", "content_hash", "file_count", "total_bytes",
                  "rollback_of", "live"]


class RollbackInput(serializers.Serializer):
    release = serializers.IntegerField(min_value=1, help_text="The release's number (v3: 3).")


class SiteCreateInput(SiteContentInput, ExpiryInput, OwnerInput):
    name = serializers.CharField(help_text="Lowercase letters, digits and hyphens.")


@extend_schema_view(
    list=extend_schema(parameters=[NAME_PARAM, TEAM_PARAM]),
    create=extend_schema(request=SiteCreateInput, responses={201: ChangeSerializer}),
    partial_update=extend_schema(request=SiteContentInput, responses={202: ChangeSerializer}),
    preview=extend_schema(request=SiteContentInput, responses={202: ChangeSerializer}),
    destroy=extend_schema(responses={202: ChangeSerializer}),
)
class SiteViewSet(ResourceViewSet):
    """Static websites: each change is a deployment, queued and run by a worker."""

    model = Site
    queryset = Site.objects.none()  # for the router's and the schema's introspection
    serializer_class = SiteSerializer
    create_form, update_form = SiteCreateForm, SiteContentForm
    write_scope = "deploy"
    parser_classes = [JSONParser, MultiPartParser]  # a folder comes as a multipart file

    @extend_schema(responses={200: ReleaseSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def releases(self, request, code=None):
        """Its releases, newest first (the live one marked): what a rollback can restore."""
        site = self.get_object()
        live = releases.live_release(site)
        rows = site.releases.order_by("-number").defer("files", "content")
        return Response([{**ReleaseSerializer(r).data, "live": live is not None and
                          r.pk == live.pk} for r in rows])

    @extend_schema(request=RollbackInput, responses={202: ChangeSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request, code=None):
        """Publish release `release` (its number) again: an update deployment."""
        site = self.get_object()
        data = RollbackInput(data=body_of(request))
        data.is_valid(raise_exception=True)
        release = get_object_or_404(site.releases, number=data.validated_data["release"])
        deployment = refused_as_api(releases.roll_back, site, release, request.user)
        site.refresh_from_db()
        return accepted(self, site, deployment)
