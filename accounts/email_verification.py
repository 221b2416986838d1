"""Proving an address: a signed, expiring link mailed to it. The link names the user and
the address; it verifies that address only while it is still the user's, so a change of
address needs a new link (and notices stop until then: stacks/notify.py)."""
import logging
import smtplib

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.urls import reverse

from .account_models import Profile

log = logging.getLogger(__name__)
SALT = "herocool.accounts.verify-email"


def make_token(user):
    return signing.dumps({"user": user.pk, "email": user.email}, salt=SALT, compress=True)


def link(user):
    return f"{settings.HEROCOOL_BASE_URL}{reverse('accounts-email-verify')}?t={make_token(user)}"


def send(user):
    """Mail the verification link to the user's address (nothing if they have none).
    False when not sent: a mail server that is down never fails the page that asked
    (the Account page offers to send it again)."""
    if not user.email:
        return False
    hours = settings.EMAIL_VERIFY_MAX_AGE // 3600
    try:
        _send(user, hours)
    except (OSError, smtplib.SMTPException):
        log.warning("confirmation link for user %s not sent: mail server unavailable",
                    user.pk, exc_info=True)
        return False
    return True


def _send(user, hours):
    send_mail("Herocool: confirm your email address",
              f"Hello {user.username},\n\nConfirm that {user.email} is yours by opening this "
              f"link within {hours} hours:\n\n{link(user)}\n\nUntil then no notices are "
              "sent to it. If you did not ask for this, ignore this message.\n",
              None, [user.email])


def verify(token):
    """The user whose address the token proves, now marked verified; None when the token
    is forged, expired, or its address is no longer the user's."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.EMAIL_VERIFY_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    profile = Profile.for_user_id(data.get("user"))
    if profile is None or not profile.verify(data.get("email", "")):
        return None
    return profile.user
