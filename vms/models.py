"""A user's virtual machine, provisioned in its own Pulumi stack."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from stacks.models import StackResource, Status

from .programs.spec import VmSpec


class VirtualMachine(StackResource):
    pulumi_project = "herocool-vms"
    stack_prefix = "vm"
    change_fields = ("instance_type", "ssh_public_key", "allowed_cidr")
    list_deferred = ("ssh_public_key", "last_error")

    instance_type = models.CharField(max_length=30)
    ssh_public_key = models.TextField()
    allowed_cidr = models.CharField(max_length=50, verbose_name="SSH allowed from")
    # Chosen once by the aws program and kept, so a newer image never replaces the VM.
    ami_id = models.CharField(max_length=30, blank=True, editable=False)

    class Meta(StackResource.Meta):
        verbose_name = "virtual machine"
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=~Q(status=Status.DELETED),
                name="vm_name_unique_per_owner",
            )
        ]

    def get_absolute_url(self):
        return reverse("vms-detail", args=[self.code])

    @property
    def size(self):
        return settings.VM_INSTANCE_TYPES.get(self.instance_type, {})

    @property
    def ssh_command(self):
        out = self.outputs
        if not out.get("public_ip"):
            return ""
        port = f"-p {out['ssh_port']} " if out.get("ssh_port") not in (None, 22) else ""
        return f"ssh {port}{out.get('ssh_user', 'ec2-user')}@{out['public_ip']}"

    def spec(self):
        return VmSpec(
            stack_name=self.stack_name, owner=self.owner.username,
            instance_type=self.instance_type, ssh_public_key=self.ssh_public_key,
            allowed_cidr=self.allowed_cidr, ami_id=self.ami_id,
            memory_mb=self.size.get("local_memory_mb", 512),
            vcpus=self.size.get("local_vcpus", 1),
        )

    def program(self):
        if self.target == "aws":
            from .programs import aws

            return aws.program(self.spec())
        from .programs import local

        return local.program(self.spec(), vms_root=str(settings.VMS_ROOT),
                             image_cache=str(settings.VM_IMAGE_CACHE))

    def apply_outputs(self, outputs):
        super().apply_outputs(outputs)
        if outputs.get("ami_id") and not self.ami_id:
            self.ami_id = outputs["ami_id"]

    def release_untracked(self):
        """After a job was stopped: stop the local guest its create booted if the stack
        does not record it (the provider's own watch normally did it already)."""
        if self.target != "local":
            return None
        from .reaper import release_untracked_guest  # the reaper imports this module

        return release_untracked_guest(self)

    def outcome(self, outputs):
        if outputs.get("state") == "stopped":
            return Status.FAILED, ("The machine is not running (the host rebooted or the "
                                   "machine crashed). Retry to start it again.")
        return super().outcome(outputs)
