"""Two-factor authentication (issue #18), on django-otp: a TOTP authenticator and ten
one-time recovery codes (a StaticDevice; each code is deleted as it is used).

Sign-in is two steps: the right password only *pends* a login in the session (who, when,
where to go next); the code completes it with Django's own login(), and the session is
marked verified (django_otp.login). So no session is ever signed in on a password alone
for an enrolled user. HEROCOOL_REQUIRE_2FA ("none", "staff", "all") says who must enrol
(twofactor_middleware.py sends them to do so). API tokens are a factor of their own.
"""
import base64
import math
import time

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

PENDING = "herocool_2fa_pending"
PENDING_SECONDS = 300
RECOVERY_CODES = 10


def required_for(user):
    """Whether the operator's policy obliges this user to use a second factor."""
    policy = settings.HEROCOOL_REQUIRE_2FA
    return policy == "all" or (policy == "staff" and (user.is_staff or user.is_superuser))


def is_enrolled(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# --- sign-in --------------------------------------------------------------------------
def begin_login(request, user, next_url):
    """The password was right: remember who is signing in, until the code comes."""
    request.session[PENDING] = {"user": user.pk, "backend": user.backend,
                                "at": time.time(), "next": next_url}


def pending_login(request):
    """(user, next URL) of the login waiting for its code; (None, None) if none or stale."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None, None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending["next"]


def finish_login(request, user, device):
    """The code was right: sign the user in, in a session marked verified by `device`."""
    backend = request.session.pop(PENDING)["backend"]
    login(request, user, backend=backend)
    otp_login(request, device)


def verify_code(user, code):
    """(the device that accepts `code`, or None; seconds to wait, or 0). The code is an
    authenticator's 6 digits or a recovery code (then used up). After a wrong code a
    device waits 1, 2, 4... seconds before it checks another (django-otp's throttle)."""
    code = "".join(code.split()).lower()
    kind = TOTPDevice if len(code) == 6 and code.isdigit() else StaticDevice
    wait = 0
    with transaction.atomic():  # one code, one use, even for two requests at once
        for device in kind.objects.filter(user=user, confirmed=True).select_for_update():
            allowed, why = device.verify_is_allowed()
            if not allowed:
                wait = max(wait, _seconds_until((why or {}).get("locked_until")))
            elif device.verify_token(code):
                return device, 0
    return None, wait


def _seconds_until(moment):
    if moment is None:
        return 1
    return max(1, math.ceil((moment - timezone.now()).total_seconds()))


# --- enrolment ------------------------------------------------------------------------
def new_authenticator(user):
    """An unconfirmed authenticator for the user to scan (replacing any earlier one)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def unconfirmed_authenticator(user):
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def confirm(device, code):
    """Confirm the scanned authenticator with its first code; False if the code is wrong
    or it was confirmed meanwhile."""
    if not device.verify_token("".join(code.split())):
        return False
    return TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True) == 1


def new_recovery_codes(user):
    """Ten fresh one-time codes (the old ones stop working), shown to the user once."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Recovery codes",
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def recovery_codes_left(user):
    return StaticToken.objects.filter(device__user=user).count()


def disable(user):
    """Remove every second factor of the user."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def secret_text(device):
    """The secret as authenticator apps take it when typed (base32)."""
    return base64.b32encode(device.bin_key).decode()


def qr_data_uri(device):
    """The otpauth:// URL as an SVG QR code, inline (the CSP allows data: images)."""
    import qrcode
    import qrcode.image.svg

    svg = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.to_string()).decode()
