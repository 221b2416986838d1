"""Saved SSH keys (issue #18): checked as the machine form checks a pasted key, shown
with OpenSSH's own fingerprint, picked on the machine form, removed without touching a
machine that uses it; a stranger's key is a 404 and cannot be picked."""
import subprocess

import pytest
from django.urls import reverse

from accounts.models import SshKey
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Real keys from ssh-keygen: {name: (public line, private text, its fingerprint)}."""
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for name, args in {"ed25519": ["-t", "ed25519"], "rsa1024": ["-t", "rsa", "-b", "1024"],
                       "ecdsa": ["-t", "ecdsa", "-b", "256"]}.items():
        path = folder / name
        subprocess.run(["ssh-keygen", "-q", "-N", "", "-C", f"{name}@test", "-f", str(path),
                        *args], check=True, timeout=60)
        listed = subprocess.run(["ssh-keygen", "-lf", f"{path}.pub"], check=True,
                                capture_output=True, text=True).stdout.split()[1]
        made[name] = ((folder / f"{name}.pub").read_text().strip(), path.read_text(), listed)
    return made


def save(client, name, text):
    return client.post(reverse("accounts-keys"), {"name": name, "public_key": text})


def test_a_saved_key_shows_the_fingerprint_ssh_keygen_gives(alice_client, alice, keys):
    public, _, fingerprint = keys["ed25519"]
    response = save(alice_client, "laptop", f"  {public}\n")
    assert response.status_code == 302
    key = alice.ssh_keys.get()
    assert key.public_key == public and key.fingerprint == fingerprint
    assert fingerprint in alice_client.get(reverse("accounts-keys")).content.decode()


@pytest.mark.parametrize("kind, message", [
    ("rsa1024", "at least 2048 are required"),
    ("private", "This is a PRIVATE key"),
    ("garbage", "This is not an OpenSSH public key"),
])
def test_keys_the_machine_form_refuses_are_refused(alice_client, alice, keys, kind, message):
    text = {"rsa1024": keys["rsa1024"][0], "private": keys["ed25519"][1],
            "garbage": "hello"}[kind]
    page = save(alice_client, "k", text).content.decode()
    assert message in page and not alice.ssh_keys.exists()
    assert "PRIVATE KEY-----" not in page.replace("This is a PRIVATE key", "")


def test_one_key_is_saved_once(alice_client, alice, keys):
    save(alice_client, "laptop", keys["ed25519"][0])
    page = save(alice_client, "again", keys["ed25519"][0]).content.decode()
    assert "You have already saved this key." in page and alice.ssh_keys.count() == 1


def create_vm(client, **fields):
    return client.post(reverse("vms-create"), {
        "name": "dev", "instance_type": "t3.micro", "allowed_cidr": "127.0.0.1/32", **fields})


def test_a_machine_is_made_with_a_saved_key_which_can_then_go(alice_client, alice, keys):
    save(alice_client, "laptop", keys["ed25519"][0])
    key = alice.ssh_keys.get()
    form_page = alice_client.get(reverse("vms-create")).content.decode()
    assert f'value="{key.code}"' in form_page and "laptop" in form_page
    assert create_vm(alice_client, saved_key=key.code).status_code == 302
    vm = VirtualMachine.objects.get(name="dev")
    assert vm.ssh_public_key == keys["ed25519"][0]
    alice_client.post(reverse("accounts-key-delete", args=[key.code]))
    assert not alice.ssh_keys.exists()
    vm.refresh_from_db()
    assert vm.ssh_public_key == keys["ed25519"][0] and vm.deployments.count() == 1


def test_the_paste_box_still_works_and_one_of_the_two_is_needed(alice_client, keys):
    page = create_vm(alice_client).content.decode()
    assert "Paste your SSH public key." in page
    assert create_vm(alice_client, ssh_public_key=keys["ecdsa"][0]).status_code == 302


def test_a_strangers_saved_key_cannot_be_picked_or_removed(client, alice, bob, keys):
    key = SshKey.objects.create(user=alice, name="laptop", public_key=keys["ed25519"][0])
    client.force_login(bob)
    page = create_vm(client, saved_key=key.code).content.decode()
    assert "Select a valid choice" in page and not VirtualMachine.objects.exists()
    assert "laptop" not in client.get(reverse("vms-create")).content.decode()
    response = client.post(reverse("accounts-key-delete", args=[key.code]))
    assert response.status_code == 404 and SshKey.objects.filter(pk=key.pk).exists()
