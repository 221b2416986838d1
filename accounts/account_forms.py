"""The Account page's forms (issue #18): password reset to verified addresses only, a
second factor's code, a saved SSH key, and leaving."""
from django import forms
from django.contrib.auth.forms import PasswordResetForm

from herocool_project.forms import StyledFormMixin
from vms import sshkeys

from .account_models import Profile, SshKey, fingerprint, normalize


class ResetForm(StyledFormMixin, PasswordResetForm):
    """Django's reset form, mailing only an address its owner proved: an address typed
    but never verified may be someone else's, who must not get the account."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if Profile.email_is_verified(user))


class CodeForm(StyledFormMixin, forms.Form):
    code = forms.CharField(label="Code", max_length=32, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text="The 6 digits your authenticator app shows, or a recovery code.")


class PasswordConfirmForm(StyledFormMixin, forms.Form):
    """A change that needs the password again (turning off two-factor, ...)."""

    password = forms.CharField(label="Your password", widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("That is not your password.")
        return ""


class LeaveForm(PasswordConfirmForm):
    username = forms.CharField(label="Type your username to confirm", max_length=150)

    def clean_username(self):
        if self.cleaned_data["username"] != self.user.get_username():
            raise forms.ValidationError("Type your username exactly as it is.")
        return self.cleaned_data["username"]


class SshKeyForm(StyledFormMixin, forms.ModelForm):
    public_key = forms.CharField(
        label="SSH public key", widget=forms.Textarea(attrs={
            "rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text="One line from your .pub file: ssh-ed25519, ecdsa, or ssh-rsa of 2048 "
                  "bits or more.")

    class Meta:
        model = SshKey
        fields = ["name", "public_key"]
        help_texts = {"name": "To recognise it by, e.g. laptop."}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.user = user

    def clean_public_key(self):
        text = self.cleaned_data["public_key"]
        try:
            key = normalize(text)
        except sshkeys.InvalidKey as exc:
            raise forms.ValidationError(str(exc)) from None
        finally:
            if sshkeys.looks_private(text):  # never echo a private key back
                self.data = self.data.copy()
                self.data[self.add_prefix("public_key")] = ""
        if self.instance.user.ssh_keys.filter(fingerprint=fingerprint(key)).exists():
            raise forms.ValidationError("You have already saved this key.")
        return key
