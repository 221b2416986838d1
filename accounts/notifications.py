"""The account's Notifications page: the address failures are emailed to, and the
user's webhooks, each with its recent deliveries. A stranger's webhook is a 404."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from herocool_project.ratelimit import limit_changes
from stacks import notify
from stacks.webhooks import NotificationSettings, Webhook

from .notification_forms import EmailForm, WebhookForm

RECENT_DELIVERIES = 20


def webhook_for_user(user, code):
    return get_object_or_404(Webhook, code=code, owner=user)


@login_required
@limit_changes
def notifications(request):
    """The email settings and the list of webhooks (with the form for a new one)."""
    user = request.user
    email_form = EmailForm(request.POST or None, initial={
        "email": user.email,
        "email_on_failure": NotificationSettings.for_user(user).email_on_failure})
    if request.method == "POST" and email_form.is_valid():
        email_form.save(user)
        messages.success(request, "Notification settings saved.")
        return redirect("accounts-notifications")
    return _page(request, email_form=email_form)


@login_required
@require_POST
@limit_changes
def webhook_create(request):
    """Add a webhook; its secret is on its page, to copy into the receiver."""
    form = WebhookForm(request.POST, owner=request.user)
    if not form.is_valid():
        return _page(request, webhook_form=form)
    hook = form.save()
    messages.success(request, "Webhook added. Copy its signing secret into your receiver.")
    return redirect("accounts-webhook", code=hook.code)


@login_required
def webhook_detail(request, code):
    """A webhook's secret and its recent deliveries with each attempt's answer."""
    hook = webhook_for_user(request.user, code)
    deliveries = list(hook.deliveries.prefetch_related("attempt_rows")[:RECENT_DELIVERIES])
    return render(request, "accounts/webhook.html",
                  {"hook": hook, "deliveries": deliveries})


@login_required
@require_POST
@limit_changes
def webhook_delete(request, code):
    hook = webhook_for_user(request.user, code)
    hook.delete()
    messages.success(request, f"Webhook {hook.url} deleted.")
    return redirect("accounts-notifications")


@login_required
@require_POST
@limit_changes
def webhook_ping(request, code):
    """Send a test delivery (event `ping`) now."""
    hook = webhook_for_user(request.user, code)
    notify.ping(hook)
    messages.info(request, "Test delivery queued; reload to see its answer.")
    return redirect("accounts-webhook", code=hook.code)


def _page(request, *, email_form=None, webhook_form=None):
    user = request.user
    email_form = email_form or EmailForm(initial={
        "email": user.email,
        "email_on_failure": NotificationSettings.for_user(user).email_on_failure})
    hooks = list(Webhook.objects.filter(owner=user))
    for hook in hooks:
        hook.last_delivery = hook.deliveries.first()
    return render(request, "accounts/notifications.html", {
        "email_form": email_form, "hooks": hooks,
        "webhook_form": webhook_form or WebhookForm(owner=user),
    })
