"""/api/v1/sites/: a user's sites, validated by the pages' own forms."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from stacks.api import (NAME_PARAM, ChangeSerializer, ExpiryInput, MonthlyEstimateField,
                        ResourceViewSet)

from .forms import SiteContentForm, SiteCreateForm
from .models import Site


class SiteSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="website_url", read_only=True)
    monthly_usd = MonthlyEstimateField()

    class Meta:
        model = Site
        fields = ["code", "name", "status", "source", "source_url", "url", "last_error",
                  "target", "created", "updated", "monthly_usd", "expires_at"]


class SiteContentInput(serializers.Serializer):
    """The page: pasted `html` (source "html") or a `url` fetched by the job (source
    "url"). Checked by the same rules and messages as the site's page."""

    source = serializers.ChoiceField(choices=["html", "url"])
    html = serializers.CharField(required=False, trim_whitespace=False)
    url = serializers.CharField(required=False)


class SiteCreateInput(SiteContentInput, ExpiryInput):
    name = serializers.CharField(help_text="Lowercase letters, digits and hyphens.")


@extend_schema_view(
    list=extend_schema(parameters=[NAME_PARAM]),
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
