"""A user's virtual machine, provisioned in its own Pulumi stack."""
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from stacks.models import StackResource, Status
from stacks.urlcache import code_url

from .programs.spec import VmSpec


class VirtualMachine(StackResource):
    pulumi_project = "herocool-vms"
    stack_prefix = "vm"
    change_fields = ("instance_type", "ssh_public_key", "allowed_cidr", "power", "restarts")
    list_deferred = ("ssh_public_key", "last_error", "user_data")

    class Power(models.TextChoices):
        RUNNING = "running"
        STOPPED = "stopped"

    instance_type = models.CharField(max_length=30)
    ssh_public_key = models.TextField()
    allowed_cidr = models.CharField(max_length=50, verbose_name="SSH allowed from")
    # Chosen once by the aws program and kept, so a newer image never replaces the VM.
    ami_id = models.CharField(max_length=30, blank=True, editable=False)
    # Issue #19. Run once, as root, at the machine's first boot (cloud user data).
    user_data = models.TextField(blank=True, verbose_name="first-boot script")
    # What the owner wants: a stopped machine keeps its disk and takes no memory.
    power = models.CharField(max_length=10, choices=Power.choices, default=Power.RUNNING)
    # Each reboot asked for adds one: the program restarts the guest when it changes.
    restarts = models.PositiveIntegerField(default=0, editable=False)
    # Issue #19: since when its host has kept the guest's network switched off (the
    # guests' boundary failed the host's check); None while its network is on. Written
    # by the host's tick (tend_host), cleared by it and by a new boot of the guest.
    network_cut_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(StackResource.Meta):
        verbose_name = "virtual machine"
        indexes = [
            *StackResource.Meta.indexes,
            # The admin's filter of the machines cut now: a few rows of many.
            models.Index(fields=["network_cut_at"], condition=Q(network_cut_at__isnull=False),
                         name="%(class)s_network_cut"),
        ]
        constraints = [
            # Issue #18: unique among an owner's personal ones, or among a team's.
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=~Q(status=Status.DELETED) & Q(team=None),
                name="vm_name_unique_per_owner",
            ),
            models.UniqueConstraint(
                fields=["team", "name"],
                condition=~Q(status=Status.DELETED) & Q(team__isnull=False),
                name="vm_name_unique_per_team",
            ),
        ]

    def get_absolute_url(self):
        return code_url("vms-detail", self.code)

    @property
    def size(self):
        return settings.VM_INSTANCE_TYPES.get(self.instance_type, {})

    cost_fields = ("target", "instance_type")

    def monthly_estimate(self):
        return self.estimate_for(self.target or settings.HEROCOOL_TARGET, self.instance_type)

    @staticmethod
    def estimate_for(target, instance_type):
        from stacks.cost import vm_estimate

        return vm_estimate(target, instance_type)

    @property
    def expiry_required(self):
        required = settings.HEROCOOL_EXPIRY_REQUIRED_TYPES
        return "*" in required or self.instance_type in required

    @property
    def booted_at(self):
        """When the running machine last booted (its SSH first answered), or None."""
        when = self.outputs.get("booted_at")
        if not when or self.is_stopped:
            return None
        try:
            return datetime.fromisoformat(when)
        except (TypeError, ValueError):
            return None

    @property
    def is_booting(self):
        """Deployed and not answering SSH yet: the page follows its console."""
        return self.status in (Status.PENDING, Status.PROVISIONING, Status.UPDATING)

    @property
    def is_stopped(self):
        return self.outputs.get("state") == "stopped"

    @property
    def ssh_command(self):
        out = self.outputs
        if not out.get("public_ip") or self.is_stopped:
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
            power=self.power, restarts=self.restarts, user_data=self.user_data,
            guest_uid=settings.VM_GUEST_UID,
        )

    def program(self):
        if self.target == "aws":
            from .programs import aws

            return aws.program(self.spec())
        from .programs import local

        return local.program(self.spec(), vms_root=str(settings.VMS_ROOT),
                             image_cache=str(settings.VM_IMAGE_CACHE))

    def output_fields(self, outputs):
        fields = super().output_fields(outputs)
        if outputs.get("ami_id") and not self.ami_id:
            fields["ami_id"] = outputs["ami_id"]
        if outputs.get("booted_at") != self.outputs.get("booted_at"):
            # A new boot (or none: stopped) means a new QEMU, whose link is up (qemu.start
            # removed the host's cut marker); the next tick cuts it again if need be.
            fields["network_cut_at"] = None
        return fields

    @property
    def host_wide_quota(self):
        return self.target == "local"  # the host's memory cap must hold exactly

    def quota_problem(self):
        mine = VirtualMachine.objects.filter(**self.owner_filter()).exclude(
            status=Status.DELETED)
        if mine.count() > settings.QUOTA_VMS:
            who = f"The team {self.team} has reached its" if self.team_id else \
                "You have reached your"
            return f"{who} limit of {settings.QUOTA_VMS} machines; delete one first."
        if self.target != "local":
            return ""
        # This machine as it will be (an update's new size is not saved yet).
        used = local_memory_mb(mine.exclude(pk=self.pk)) + self.memory_taken_mb
        if used > settings.QUOTA_VM_MEMORY_MB:
            whose = f"The team {self.team}'s" if self.team_id else "Your"
            return (f"{whose} machines would use {used} MB of memory; the limit is "
                    f"{settings.QUOTA_VM_MEMORY_MB} MB. Pick a smaller type or delete a "
                    "machine.")
        if self.host_id is None:
            return ""  # a new machine: placement found it a host with room
        on_host = VirtualMachine.objects.filter(host_id=self.host_id).exclude(
            status=Status.DELETED).exclude(pk=self.pk)
        host = local_memory_mb(on_host) + self.memory_taken_mb
        if host > self.host.vm_memory_mb:
            return (f"This host has no room for that machine now: its machines would use "
                    f"{host} MB of the {self.host.vm_memory_mb} MB it allows. Pick a "
                    "smaller type, try later, or ask the operator.")
        return ""

    @property
    def memory_taken_mb(self):
        """Guest memory this machine takes as it will be: none while stopped."""
        if self.power == self.Power.STOPPED:
            return 0
        return self.size.get("local_memory_mb", 0)

    POWER_ACTIONS = {
        "stop": "shuts the machine down cleanly; its disk stays, and it takes no memory "
                "from your limit while stopped",
        "start": "boots the machine again from its disk",
        "reboot": "restarts the machine (a clean shutdown, then a boot from the same disk)",
    }

    def power_change(self, action):
        """The update's params that carry out a power action (recorded with it)."""
        if action == "stop":
            return {"power": self.Power.STOPPED, "power_action": action}
        if action == "start":
            return {"power": self.Power.RUNNING, "power_action": action}
        if action == "reboot":
            return {"power": self.Power.RUNNING, "restarts": self.restarts + 1,
                    "power_action": action}
        raise ValueError(f"unknown power action {action!r}")

    def power_problem(self, action):
        """Why `action` makes no sense now (a message for the user), or ""."""
        stopped = self.power == self.Power.STOPPED
        if action == "stop" and stopped:
            return f"{self.name} is already stopped."
        if action == "start" and not stopped and not self.is_stopped:
            return f"{self.name} is already running."
        if action == "reboot" and stopped:
            return f"{self.name} is stopped: start it instead."
        if action == "reboot" and self.target == "aws":
            # The aws program sets the instance's state; it has no way to reboot it.
            return "A cloud machine cannot be rebooted from here yet: stop it, then start it."
        return ""

    def prepare(self, deployment, say):
        action = deployment.params.get("power_action")
        if action in self.POWER_ACTIONS:
            say("Power: %s (this %s)", action, self.POWER_ACTIONS[action])

    def pick_host(self, hosts):
        """The host with the most free guest memory, if that is enough for this one."""
        need = self.size.get("local_memory_mb", 0)
        free = {h: h.vm_memory_mb - used for h, used in
                memory_per_host(hosts, excluding=self.pk).items()}
        best = max(hosts, key=lambda h: (free[h], h.name))
        return best if free[best] >= need else None

    def no_room_message(self, hosts):
        most = max(h.vm_memory_mb - used for h, used in
                   memory_per_host(hosts, excluding=self.pk).items())
        return (f"No host has room for that machine now: it needs "
                f"{self.size.get('local_memory_mb', 0)} MB and the most any host has free "
                f"is {most} MB. Pick a smaller type, try later, or ask the operator.")

    def release_untracked(self):
        """After a job was stopped: stop the local guest its create booted if the stack
        does not record it (the provider's own watch normally did it already)."""
        if self.target != "local":
            return None
        from .reaper import release_untracked_guest  # the reaper imports this module

        return release_untracked_guest(self)

    @classmethod
    def tend_host(cls):
        """The host tick's work on the guests running here: their network boundary
        probed again (cut where it no longer holds), and their consoles published for
        pages served by other hosts."""
        from . import console_copy
        from .localvm import netwatch

        try:
            cls.record_network_cuts(netwatch.check(settings.VMS_ROOT))
        finally:  # a failed check is logged by the tick; the consoles still go out
            console_copy.publish(settings.VMS_ROOT)

    @classmethod
    def record_network_cuts(cls, found):
        """Put a host's check (netwatch.check's {"cut", "restored", "still_cut"} of stack
        names) on the records, for pages served by any host: a machine cut here keeps the
        time of its first cut; one restored, or on this host and no longer cut (stopped,
        or booted again meanwhile), is cut no more."""
        cut = found["cut"] + found["still_cut"]
        cls.objects.filter(stack_name__in=cut, network_cut_at=None).update(
            network_cut_at=timezone.now())
        cls.objects.filter(
            Q(stack_name__in=found["restored"]) | Q(host__name=settings.HEROCOOL_HOST),
            network_cut_at__isnull=False).exclude(stack_name__in=cut).update(
            network_cut_at=None)

    @property
    def network_is_cut(self):
        """Whether the page warns that the host switched its network off."""
        return self.network_cut_at is not None and self.status == Status.LIVE

    @classmethod
    def reap_untracked(cls):
        from .reaper import reap_orphan_guests

        return [f"{vm_dir}: {reason}" for vm_dir, reason in reap_orphan_guests()]

    def outcome(self, outputs):
        if outputs.get("state") == "stopped" and self.power == self.Power.STOPPED:
            return Status.LIVE, ""  # stopped as asked: its disk is kept
        if outputs.get("state") == "stopped":
            return Status.FAILED, ("The machine is not running (the host rebooted or the "
                                   "machine crashed). Retry to start it again.")
        return super().outcome(outputs)


def local_memory_mb(machines):
    """Memory the local-target machines among `machines` take on this host, in MB."""
    per_type = (machines.filter(target="local").exclude(power=VirtualMachine.Power.STOPPED)
                .values("instance_type")
                .annotate(n=Count("id")).order_by())
    sizes = settings.VM_INSTANCE_TYPES
    return sum(sizes.get(row["instance_type"], {}).get("local_memory_mb", 0) * row["n"]
               for row in per_type)


def memory_per_host(hosts, *, excluding=None):
    """{host: guest memory (MB) of its machines that are not deleted}, leaving out the
    machine `excluding`."""
    machines = VirtualMachine.objects.exclude(status=Status.DELETED).exclude(pk=excluding)
    return {h: local_memory_mb(machines.filter(host=h)) for h in hosts}
