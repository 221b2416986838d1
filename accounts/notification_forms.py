"""The Notifications page's forms: the address for notices, and a new webhook."""
from django import forms
from django.conf import settings

from herocool_project.forms import StyledFormMixin
from sites.fetch import FetchError, check_url
from stacks.webhooks import Event, NotificationSettings, Webhook

from . import email_verification


class EmailForm(StyledFormMixin, forms.Form):
    """User.email and whether failures are emailed. A new address gets a confirmation
    link, and no notices until it is opened (accounts/email_verification.py)."""

    email = forms.EmailField(label="Email address for notices", required=False,
                             help_text="Leave empty to receive no email.")
    email_on_failure = forms.BooleanField(label="Email me when a deployment fails",
                                          required=False)

    def save(self, user):
        changed = user.email != self.cleaned_data["email"]
        user.email = self.cleaned_data["email"]
        user.save(update_fields=["email"])
        if changed:
            email_verification.send(user)
        NotificationSettings.objects.update_or_create(
            user=user, defaults={"email_on_failure": self.cleaned_data["email_on_failure"]})


class WebhookForm(StyledFormMixin, forms.ModelForm):
    url = forms.URLField(label="URL", max_length=2000, assume_scheme="https",
                         help_text="An http or https URL on the internet; redirects are "
                                   "not followed.")
    events = forms.MultipleChoiceField(
        choices=Event.choices, widget=forms.CheckboxSelectMultiple,
        initial=[Event.FAILED, Event.SUCCEEDED],
        help_text="The deployment events this URL hears about.")

    class Meta:
        model = Webhook
        fields = ["url", "events"]

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.owner = owner

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_url(url)  # the fetcher's own check; each delivery checks again, with DNS
        except FetchError as exc:
            raise forms.ValidationError(str(exc)) from None
        return url

    def clean(self):
        owner = self.instance.owner
        if Webhook.objects.filter(owner=owner).count() >= settings.WEBHOOKS_PER_USER:
            raise forms.ValidationError(
                f"You have {settings.WEBHOOKS_PER_USER} webhooks already; delete one first.")
        return super().clean()
