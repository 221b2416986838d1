"""The second factor's gate asks its per-request question in plain SQL (issues #11, #13):
the same answer as twofactor.is_enrolled for every kind of device a user may have."""
import pytest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from accounts.twofactor_middleware import _enrolled

pytestmark = pytest.mark.django_db


def test_the_gate_sees_enrolment_as_is_enrolled_does(alice, bob):
    def same():
        for user in (alice, bob):
            assert _enrolled(user.pk) == twofactor.is_enrolled(user)
        return _enrolled(alice.pk)

    assert not same()
    StaticDevice.objects.create(user=alice, name="Recovery codes", confirmed=True)
    TOTPDevice.objects.create(user=bob, name="Authenticator app", confirmed=True)
    unconfirmed = TOTPDevice.objects.create(user=alice, name="Authenticator app",
                                            confirmed=False)
    assert not same()  # recovery codes alone, an unconfirmed app, bob's app: not alice's
    TOTPDevice.objects.filter(pk=unconfirmed.pk).update(confirmed=True)
    assert same()

