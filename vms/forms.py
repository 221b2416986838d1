"""Forms for virtual machines: instance type from the allowlist, a checked SSH key, and
who may reach SSH."""
import ipaddress

from django import forms
from django.conf import settings

from accounts.models import SshKey
from herocool_project.form_renderer import RENDERER
from herocool_project.forms import StyledFormMixin
from stacks.cost import estimates_json
from stacks.expiry import ExpiryFieldsMixin

from . import sshkeys
from .models import VirtualMachine

# Ranges wider than these open SSH to a good part of the Internet: only with the tick.
WIDEST_WITHOUT_TICK = {4: 16, 6: 48}
MAPPED_IPV4 = ipaddress.ip_network("::ffff:0:0/96")  # all of IPv4, written as IPv6


def instance_type_choices():
    """Each allowed type with what this installation's target really gives it."""
    choices = []
    for name, size in settings.VM_INSTANCE_TYPES.items():
        if settings.HEROCOOL_TARGET == "aws":
            label = (f"{name}: {size['vcpus']} vCPU, {size['memory_mb']} MB, about "
                     f"${size['hourly_usd']:.4f}/hour")
        else:
            label = f"{name}: {size['local_vcpus']} vCPU, {size['local_memory_mb']} MB"
        choices.append((name, label))
    return choices


class VmForm(StyledFormMixin, forms.ModelForm):
    default_renderer = RENDERER
    # Issue #18: a key saved on the account, instead of pasting one (its text is copied
    # into the machine: removing the saved key later changes no machine).
    saved_key = forms.ModelChoiceField(queryset=SshKey.objects.none(), required=False,
                                       to_field_name="code", label="A saved SSH key",
                                       empty_label="None: I paste a key below")
    ssh_public_key = forms.CharField(required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        label="SSH public key",
        help_text="One line from your .pub file: ssh-ed25519, ecdsa, or ssh-rsa of 2048 "
                  "bits or more.")
    # Declared here, not replaced in __init__: the styling mixin sees it (form-select).
    instance_type = forms.ChoiceField(choices=instance_type_choices, label="Instance type")
    allow_anywhere = forms.BooleanField(
        required=False, label="I really mean to allow SSH from a wide range (wider than /16 "
                              "for IPv4 or /48 for IPv6, up to anywhere: 0.0.0.0/0)")

    class Meta:
        model = VirtualMachine
        fields = ["instance_type", "saved_key", "ssh_public_key", "allowed_cidr"]
        help_texts = {"allowed_cidr": "The addresses allowed to connect to SSH, e.g. your "
                                      "address /32."}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["saved_key"].queryset = SshKey.objects.filter(user=owner)
        # What each type costs a month, for the page's script (static/js/estimate.js).
        self.fields["instance_type"].widget.attrs["data-estimates"] = estimates_json(
            VirtualMachine, self.instance.target or settings.HEROCOOL_TARGET,
            settings.VM_INSTANCE_TYPES)

    def clean_ssh_public_key(self):
        text = self.cleaned_data["ssh_public_key"]
        try:
            return sshkeys.normalize_public_key(text)
        except sshkeys.InvalidKey as exc:
            raise forms.ValidationError(str(exc)) from None
        finally:
            if sshkeys.looks_private(text):
                # Never echo a private key back into the page.
                self.data = self.data.copy()
                self.data[self.add_prefix("ssh_public_key")] = ""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("saved_key") is not None:  # the saved key, not the paste box
            cleaned["ssh_public_key"] = cleaned["saved_key"].public_key
            self.errors.pop("ssh_public_key", None)
        return cleaned

    def clean_allowed_cidr(self):
        value = self.cleaned_data["allowed_cidr"].strip()
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise forms.ValidationError(
                "Enter an address or network such as 203.0.113.7/32 or 2001:db8::/64."
            ) from None
        version, prefixlen, widest = _width(network)
        if prefixlen < widest and not self.data.get(self.add_prefix("allow_anywhere")):
            how_many = f"{network.num_addresses:,}" if version == 4 else \
                f"2^{network.max_prefixlen - network.prefixlen}"
            raise forms.ValidationError(
                f"{network} lets {how_many} addresses try to log in by SSH. A range wider "
                f"than /{widest} must be asked for explicitly: tick the box below.")
        return str(network)


def _width(network):
    """(IP version, prefix length, widest prefix allowed without the tick); IPv4 written
    as IPv4-mapped IPv6 is judged as the IPv4 range it is."""
    if network.version == 6 and network.subnet_of(MAPPED_IPV4):
        return 4, network.prefixlen - 96, WIDEST_WITHOUT_TICK[4]
    return network.version, network.prefixlen, WIDEST_WITHOUT_TICK[network.version]


class VmCreateForm(ExpiryFieldsMixin, VmForm):
    class Meta(VmForm.Meta):
        fields = ["name", *VmForm.Meta.fields, "user_data"]
        help_texts = {**VmForm.Meta.help_texts,
                      "name": "Lowercase letters, digits and hyphens, e.g. dev-box.",
                      "user_data": "Optional. Run once, as root, when the machine first "
                                   "boots; what it prints shows in the console on the "
                                   "machine's page."}
        widgets = {"user_data": forms.Textarea(attrs={
            "rows": 4, "spellcheck": "false", "class": "font-monospace",
            "placeholder": "#!/bin/sh\napt-get update && apt-get install -y git"})}

    def __init__(self, *args, client_ip=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instance_type"].initial = settings.VM_DEFAULT_INSTANCE_TYPE
        try:
            self.fields["allowed_cidr"].initial = str(ipaddress.ip_network(client_ip))
        except ValueError:  # no address known (say a unix socket): the user types one
            pass

    def clean_user_data(self):
        return clean_first_boot_script(self.cleaned_data.get("user_data") or "")

    def clean_name(self):
        name = self.cleaned_data["name"]
        team = self.cleaned_data.get("team")  # issue #18: the Owner field, before it
        if VirtualMachine.alive_of(self.owner, team).filter(name=name).exists():
            raise forms.ValidationError(VirtualMachine.taken_message(team, "machine", name))
        return name


def clean_first_boot_script(text):
    """The first-boot script as the guest will get it (Unix line ends), or a
    ValidationError saying what is wrong with it."""
    text = text.replace("\r\n", "\n")
    if not text.strip():
        return ""
    limit = settings.VM_FIRST_BOOT_SCRIPT_MAX_BYTES
    if len(text.encode()) > limit:
        raise forms.ValidationError(
            f"The first-boot script is {len(text.encode()):,} bytes; the limit is "
            f"{limit:,}. Have it download the rest instead.")
    if not text.startswith("#!"):
        raise forms.ValidationError(
            "A first-boot script starts with #! and its interpreter, e.g. #!/bin/sh.")
    return text
