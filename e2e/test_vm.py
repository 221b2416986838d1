"""A person's local virtual machine in a real browser: QEMU boots it, SSH reaches it."""
import os
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from .steps import sign_up, status_of, watch_deployment

BOOT_TIMEOUT_S = 240

pytestmark = pytest.mark.skipif(
    not os.path.exists("/dev/kvm") and not shutil.which("qemu-system-x86_64"),
    reason="local VMs need QEMU: neither /dev/kvm nor qemu-system-x86_64 is on this host")


@pytest.fixture
def ssh_key(tmp_path):
    """A fresh ed25519 key pair: (private key path, public key line)."""
    path = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", str(path)],
                   check=True, timeout=30)
    return path, path.with_suffix(".pub").read_text().strip()


@pytest.fixture
def vm_image(vms_root, settings):
    """The VM image, built once before the browser starts (minutes on a cold cache)."""
    from vms.localvm.image import ensure_image

    return ensure_image(settings.VM_IMAGE_CACHE)


@pytest.mark.slow
def test_vm_from_signup_to_ssh_to_deleted(page, worker, ssh_key, vm_image):
    """Sign up, create a machine with my key, watch it go live, SSH in, delete it."""
    key_path, public_key = ssh_key
    worker.start()
    sign_up(page, "vic")
    page.get_by_role("link", name="New machine").click()
    page.fill("#id_name", "box-e2e")
    page.fill("#id_ssh_public_key", public_key)
    page.fill("#id_allowed_cidr", "127.0.0.1/32")
    page.get_by_role("button", name="Create and provision").click()
    expect(page.get_by_role("alert")).to_contain_text("Provisioning box-e2e")

    watch_deployment(page, timeout_s=BOOT_TIMEOUT_S)
    expect(status_of(page)).to_have_attribute("data-status", "live")
    command = page.locator("input#ssh-command").input_value()
    assert command.startswith("ssh -p "), command

    ssh, *where = command.split()  # run the page's command as given, plus our key
    done = subprocess.run(
        [ssh, "-i", str(key_path), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "ConnectTimeout=30", "-o", "LogLevel=ERROR", *where, "uname -a"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stdout.startswith("Linux "), done

    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete box-e2e").click()
    watch_deployment(page, timeout_s=120)
    expect(status_of(page)).to_have_attribute("data-status", "deleted")
    expect(page.locator("input#ssh-command")).to_have_count(0)
