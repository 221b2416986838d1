"""Expiry: any resource can be given a time to go (in 2 hours, 1 day, 7 days, or on a
date); its owner is emailed once before, then the scheduler's pass (stacks/cron.py)
destroys it through an ordinary deployment requested by the platform's system user.
The owner can extend or clear it; operators can require one
(HEROCOOL_EXPIRY_REQUIRED_TYPES: instance types, or "*" for every machine)."""
import copy
import logging
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from .models import Deployment, Status, resource_models, system_user

log = logging.getLogger(__name__)

SPANS = {"2h": timedelta(hours=2), "1d": timedelta(days=1), "7d": timedelta(days=7)}
CHOICES = [("", "Never"), ("2h", "In 2 hours"), ("1d", "In 1 day"), ("7d", "In 7 days"),
           ("date", "On a date")]
REQUIRED = "The operator requires an expiry for this one: choose when it should go."


class ExpiryFields(forms.Form):
    """When a resource should go: `expires_in` (a span or "date") and `expires_on`."""

    expires_in = forms.ChoiceField(choices=CHOICES, required=False, label="Expires",
                                   widget=forms.Select(attrs={"class": "form-select"}))
    expires_on = forms.DateTimeField(
        required=False, label="Expiry date",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}),
        help_text="With “On a date”: when it is destroyed (server time).")

    def expiry(self, data, now=None):
        """The chosen time (None: never), or an error added to the form."""
        now = now or timezone.now()
        choice = data.get("expires_in") or ""
        if choice in SPANS:
            return now + SPANS[choice]
        if choice != "date":
            return None
        when = data.get("expires_on")
        if when is None or when <= now:
            self.add_error("expires_on", "Give a date and time in the future.")
            return None
        return when


class ExpiryForm(ExpiryFields):
    """The resource page's form: set, extend or clear an expiry."""

    def __init__(self, *args, resource, **kwargs):
        super().__init__(*args, **kwargs)
        self.resource = resource

    def clean(self):
        data = super().clean()
        data["when"] = self.expiry(data)
        if data["when"] is None and self.resource.expiry_required and not self.errors:
            raise forms.ValidationError(REQUIRED)
        return data


class ExpiryFieldsMixin:
    """For a create form (a ModelForm): its resource gets the chosen expiry."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(ExpiryFields().fields)

    expiry = ExpiryFields.expiry

    def clean(self):
        data = super().clean()
        self.instance.expires_at = self.expiry(data)
        if self.instance.expires_at is None and self._would_require(data):
            self.add_error("expires_in", REQUIRED)
        return data

    def _would_require(self, data):
        probe = copy.copy(self.instance)
        probe.apply_changes({k: v for k, v in data.items() if v is not None})
        return probe.expiry_required


# --- the scheduler's pass -------------------------------------------------------------

def expire_due(now=None):
    """Remind the owners of what expires within EXPIRY_REMIND_BEFORE (once each), then
    request the destroy of what has expired. Returns (reminded, destroys requested)."""
    now = now or timezone.now()
    reminded = destroyed = 0
    soon = now + timedelta(seconds=settings.HEROCOOL_EXPIRY_REMIND_BEFORE)
    for model in resource_models():
        alive = model.objects.exclude(status=Status.DELETED).select_related("owner")
        for resource in alive.filter(expires_at__gt=now, expires_at__lte=soon,
                                     expiry_reminded_at=None)[:500]:
            reminded += remind(resource, now)
        for resource in alive.filter(expires_at__lte=now).exclude(
                status=Status.DELETING)[:500]:
            destroyed += destroy(resource)
    return reminded, destroyed


def remind(resource, now):
    if not resource.claim_expiry_reminder(now):
        return 0
    if expiry_recipients(resource):
        from .notify import _enqueue

        _enqueue(send_expiry_reminder, resource._meta.label, resource.pk)
    return 1


def destroy(resource):
    """The destroy, as the system; not again after one of ours for this expiry failed
    (the owner or an operator retries it, or sets a new expiry)."""
    from .services import DeploymentRefused, request_deployment

    ours = resource.deployments.filter(action=Deployment.Action.DESTROY,
                                       requested_by=system_user(),
                                       queued_at__gte=resource.expires_at)
    if ours.exists():
        return 0
    try:
        request_deployment(resource, Deployment.Action.DESTROY, system_user())
    except DeploymentRefused as exc:
        log.info("expired %s not destroyed yet: %s", resource.stack_name, exc)
        return 0
    return 1


def expiry_recipients(resource):
    """Who is reminded: the owner of a personal resource (at their address, as ever); a
    team's admins and deployers at their verified addresses, one message per address."""
    from accounts.models import Profile

    from .notify import once_per_address
    from .permissions import DEPLOY, people_who_may

    if resource.team_id is None:
        return [resource.owner] if resource.owner.email else []
    return once_per_address(u for u in people_who_may(DEPLOY, resource)
                            if Profile.email_is_verified(u))


def send_expiry_reminder(label, pk):
    """Email the people who can act on it that a resource goes soon (a job on the notify
    queue), one message each. Returns how many were sent."""
    from django.apps import apps

    resource = apps.get_model(label).objects.select_related("owner").get(pk=pk)
    if resource.expires_at is None or resource.is_deleted:
        return 0
    when = timezone.localtime(resource.expires_at).strftime("%Y-%m-%d %H:%M %Z")
    who = "the team's admins can" if resource.team_id else "you can"  # expiry: DELETE
    recipients = expiry_recipients(resource)
    for user in recipients:
        send_mail(
            f"Herocool: {resource.name} expires at {when}",
            f"Hello {user.username},\n\n{resource.name} is set to expire at {when}; it "
            f"will then be destroyed. To keep it, {who} extend or clear its expiry on its "
            f"page:\n{settings.HEROCOOL_BASE_URL}{resource.get_absolute_url()}\n",
            None, [user.email])
    return len(recipients)
