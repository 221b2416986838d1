"""/api/v1/vms/: a user's virtual machines, validated by the pages' own forms."""
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from herocool_project.clientaddr import client_address
from stacks.api import (NAME_PARAM, TEAM_PARAM, ChangeSerializer, ExpiryInput,
                        MonthlyEstimateField, OwnerInput, ResourceViewSet)

from .forms import VmCreateForm, VmForm
from .models import VirtualMachine


class VmSerializer(serializers.ModelSerializer):
    ssh = serializers.SerializerMethodField()
    monthly_usd = MonthlyEstimateField()
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    network_cut_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="Since when the machine's host has kept its network switched off (its "
                  "guests' network boundary failed the host's check); null while it is on.")

    class Meta:
        model = VirtualMachine
        fields = ["code", "name", "status", "instance_type", "allowed_cidr", "ssh",
                  "last_error", "target", "created", "updated", "monthly_usd", "expires_at",
                  "team", "power", "network_cut_at"]

    def get_ssh(self, vm) -> dict:
        """{user, host, port, command} once it has an address, else {}."""
        out = vm.outputs
        if not out.get("public_ip"):
            return {}
        return {"user": out.get("ssh_user", "ec2-user"), "host": out["public_ip"],
                "port": out.get("ssh_port") or 22, "command": vm.ssh_command}


class VmInput(serializers.Serializer):
    """Checked by the same rules and messages as the machine's page."""

    instance_type = serializers.CharField()
    ssh_public_key = serializers.CharField()
    allowed_cidr = serializers.CharField(help_text="Who may reach SSH, e.g. 203.0.113.7/32.")
    allow_anywhere = serializers.BooleanField(
        required=False, help_text="Needed for a range wider than /16 (IPv4) or /48 (IPv6).")


class VmCreateInput(VmInput, ExpiryInput, OwnerInput):
    name = serializers.CharField(help_text="Lowercase letters, digits and hyphens.")
    user_data = serializers.CharField(
        required=False, help_text="A first-boot script (starts with #!, at most 16 KB), run "
                                  "once as root when the machine first boots.")


@extend_schema_view(
    list=extend_schema(parameters=[NAME_PARAM, TEAM_PARAM]),
    create=extend_schema(request=VmCreateInput, responses={201: ChangeSerializer}),
    partial_update=extend_schema(request=VmInput, responses={202: ChangeSerializer}),
    preview=extend_schema(request=VmInput, responses={202: ChangeSerializer}),
    destroy=extend_schema(responses={202: ChangeSerializer}),
)
class VmViewSet(ResourceViewSet):
    """Virtual machines: each change is a deployment, queued and run by a worker."""

    model = VirtualMachine
    queryset = VirtualMachine.objects.none()
    serializer_class = VmSerializer
    create_form, update_form = VmCreateForm, VmForm
    write_scope = "machines"

    def form_kwargs(self):
        return {"client_ip": client_address(self.request)}
