"""SSH keys and CIDRs as users paste them."""
import re

import pytest

from vms import sshkeys
from vms.forms import VmCreateForm

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa2048"])
def test_accepted_key_types(keys, kind):
    public, _ = keys[kind]
    assert sshkeys.normalize_public_key(f"  {public}\n") == public


def test_short_rsa_key_is_refused_with_its_size(keys):
    with pytest.raises(sshkeys.InvalidKey, match="has 1024 bits; at least 2048"):
        sshkeys.normalize_public_key(keys["rsa1024"][0])


@pytest.mark.parametrize("text, message", [
    ("", "Paste your SSH public key"),
    ("hello world", "Key type 'hello' is not accepted"),
    ("ssh-ed25519", "not an OpenSSH public key"),
    ("ssh-ed25519 !!!notbase64!!!", "does not match its type"),
    ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "Key type 'ssh-dss' is not accepted"),
])
def test_garbage_is_refused(text, message):
    with pytest.raises(sshkeys.InvalidKey, match=message):
        sshkeys.normalize_public_key(text)


def test_key_blob_of_another_type_is_refused(keys):
    blob = keys["ed25519"][0].split()[1]
    with pytest.raises(sshkeys.InvalidKey, match="does not match its type"):
        sshkeys.normalize_public_key(f"ssh-rsa {blob}")


def test_two_keys_are_refused(keys):
    with pytest.raises(sshkeys.InvalidKey, match="exactly one public key"):
        sshkeys.normalize_public_key(keys["ed25519"][0] + "\n" + keys["ecdsa"][0])


def _form(alice, **data):
    base = {"name": "dev", "instance_type": "t3.micro", "allowed_cidr": "203.0.113.7/32"}
    return VmCreateForm({**base, **data}, owner=alice)


def test_private_key_is_refused_and_never_echoed(alice, keys):
    public, private = keys["ed25519"]
    form = _form(alice, ssh_public_key=private)
    assert not form.is_valid()
    assert "PRIVATE key" in form.errors["ssh_public_key"][0]
    rendered = str(form)
    assert "BEGIN OPENSSH PRIVATE KEY" not in rendered
    assert private.splitlines()[1] not in rendered


@pytest.mark.parametrize("cidr, stored", [
    ("203.0.113.7", "203.0.113.7/32"),
    ("203.0.113.7/32", "203.0.113.7/32"),
    ("198.51.100.9/24", "198.51.100.0/24"),
    ("2001:db8::1/64", "2001:db8::/64"),
])
def test_cidr_forms_are_normalised(alice, keys, cidr, stored):
    form = _form(alice, ssh_public_key=keys["ed25519"][0], allowed_cidr=cidr)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["allowed_cidr"] == stored


@pytest.mark.parametrize("cidr", ["", "not-an-ip", "300.1.1.1/32", "10.0.0.0/33"])
def test_bad_cidrs_are_refused(alice, keys, cidr):
    form = _form(alice, ssh_public_key=keys["ed25519"][0], allowed_cidr=cidr)
    assert not form.is_valid() and "allowed_cidr" in form.errors


def test_anywhere_needs_to_be_asked_for(alice, keys):
    form = _form(alice, ssh_public_key=keys["ed25519"][0], allowed_cidr="0.0.0.0/0")
    assert "must be asked for explicitly" in form.errors["allowed_cidr"][0]
    form = _form(alice, ssh_public_key=keys["ed25519"][0], allowed_cidr="0.0.0.0/0",
                 allow_anywhere="on")
    assert form.is_valid(), form.errors


@pytest.mark.parametrize("cidr", ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1",
                                  "10.0.0.0/8", "203.0.0.0/15", "2001:db8::/47",
                                  "::ffff:0:0/96", "::ffff:0.0.0.0/100"])
def test_wide_ranges_need_the_tick(alice, keys, cidr):
    form = _form(alice, ssh_public_key=keys["ed25519"][0], allowed_cidr=cidr)
    message = form.errors["allowed_cidr"][0]
    assert "must be asked for explicitly: tick the box below" in message
    assert re.search(r"lets [\d,^]+ addresses try to log in by SSH", message)
    form = _form(alice, ssh_public_key=keys["ed25519"][0], allowed_cidr=cidr,
                 allow_anywhere="on")
    assert form.is_valid(), form.errors


@pytest.mark.parametrize("cidr", ["203.0.0.0/16", "2001:db8::/48", "198.51.100.7"])
def test_ranges_up_to_16_or_48_need_no_tick(alice, keys, cidr):
    assert _form(alice, ssh_public_key=keys["ed25519"][0], allowed_cidr=cidr).is_valid()


def test_instance_type_must_be_in_the_allowlist(alice, keys):
    form = _form(alice, ssh_public_key=keys["ed25519"][0], instance_type="p5.48xlarge")
    assert "instance_type" in form.errors


def test_default_cidr_is_the_requesters_address(alice):
    form = VmCreateForm(owner=alice, client_ip="198.51.100.23")
    assert form.fields["allowed_cidr"].initial == "198.51.100.23/32"
