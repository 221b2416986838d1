"""Local VMs for real: build (or reuse) the image, boot QEMU, log in over SSH.

Run: bash scripts/test.sh vms/tests/test_localvm.py   (-m "not slow" for the quick ones)
The slow tests need root, debootstrap and qemu; the image is cached under
$HEROCOOL_VM_IMAGE_CACHE (default data/vm-images) so only the first run builds it.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vms.localvm import qemu
from vms.localvm.image import LEGACY_IMAGE_NAME, ImagePaths, ensure_image, image_at
from vms.programs.local_provider import LocalVmProvider

BASE_DIR = Path(__file__).resolve().parents[2]
IMAGE_CACHE = os.environ.get("HEROCOOL_VM_IMAGE_CACHE", str(BASE_DIR / "data" / "vm-images"))
BOOT_TIMEOUT = 600


@pytest.fixture(scope="module")
def image():
    return ensure_image(IMAGE_CACHE)


def make_key(directory, name):
    path = Path(directory) / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
                   check=True, timeout=30)
    return path, path.with_suffix(".pub").read_text()


def ssh(port, key, command="uname -a"):
    return subprocess.run(
        ["ssh", "-i", str(key), "-p", str(port), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         # Generous: an emulated guest on a busy host can take long over key exchange.
         "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=90", "-o", "LogLevel=ERROR",
         "herocool@127.0.0.1", command],
        capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def wait_until(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def boot(vm_dir, image, port, public_key, **settings):
    qemu.start(vm_dir, image, ssh_port=port, authorized_key=public_key, **settings)
    qemu.wait_for_ssh(port, BOOT_TIMEOUT, vm_dir=vm_dir)
    return int((Path(vm_dir) / "qemu.pid").read_text())


def kill_qemu(vm_dir):
    os.kill(int((Path(vm_dir) / "qemu.pid").read_text()), signal.SIGKILL)
    assert wait_until(lambda: not qemu.is_running(vm_dir))


@pytest.mark.slow
def test_vm_boots_rotates_key_survives_crash_and_is_destroyed(image, tmp_path):
    vm_dir = tmp_path / "vm"
    key1, pub1 = make_key(tmp_path, "key1")
    key2, pub2 = make_key(tmp_path, "key2")
    port = qemu.free_port()
    try:
        boot(vm_dir, image, port, pub1, memory_mb=512, vcpus=1)
        # At once after the banner: the login must not meet "System is booting up".
        first = ssh(port, key1, "uname -a; cat /proc/cmdline")
        assert first.returncode == 0, first.stderr
        assert "Linux herocool-vm" in first.stdout
        assert "root=/dev/nvme0n1" in first.stdout  # the new image's direct boot

        # A restart with a new key: same disk, same port, only the new key gets in.
        qemu.stop(vm_dir)
        assert not qemu.is_running(vm_dir)
        boot(vm_dir, image, port, pub2, memory_mb=384, vcpus=2)
        assert ssh(port, key1).returncode != 0
        second = ssh(port, key2, "nproc && sudo -n true && echo sudo-ok")
        assert second.stdout.split() == ["2", "sudo-ok"], second.stderr
        assert qemu.is_running(vm_dir)

        kill_qemu(vm_dir)  # a crashed QEMU must read as not running

        # The disk outlives the crash; destroy then removes everything.
        pid = boot(vm_dir, image, port, pub2)
        assert ssh(port, key2, "true").returncode == 0
        qemu.destroy(vm_dir)
        assert not vm_dir.exists() and not qemu._pid_alive(pid, vm_dir)
        assert not port_open(port)
    finally:
        qemu.destroy(vm_dir)


def option(cmd, name):
    return [cmd[i + 1] for i, arg in enumerate(cmd) if arg == name]


def test_a_new_image_boots_its_kernel_straight_onto_an_nvme_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HEROCOOL_VM_ACCEL", "tcg")
    image = ImagePaths(rootfs="/img/rootfs.raw", kernel="/img/vmlinuz")
    cmd = qemu._command(tmp_path, image, 2222, 512, 1)
    assert "-initrd" not in cmd
    assert option(cmd, "-append") == [qemu.CMDLINE]
    assert "root=/dev/nvme0n1 rw" in qemu.CMDLINE and "quiet" in qemu.CMDLINE
    assert "nvme,drive=root,serial=herocool-root" in option(cmd, "-device")
    assert not any("if=virtio" in drive for drive in option(cmd, "-drive"))


def test_a_disk_made_from_a_v1_image_keeps_booting_the_v1_way(tmp_path, monkeypatch):
    # A v1 disk's fstab names /dev/vda and its kernel needs the initrd's modules.
    monkeypatch.setenv("HEROCOOL_VM_ACCEL", "tcg")
    (tmp_path / "disk.qcow2").write_bytes(b"")
    (tmp_path / "image.json").write_text(json.dumps(
        {"rootfs": "/v1/rootfs.raw", "kernel": "/v1/vmlinuz", "initrd": "/v1/initrd.img"}))
    newest = ImagePaths(rootfs="/v2/rootfs.raw", kernel="/v2/vmlinuz")
    image = qemu._prepare_disk(tmp_path, newest)
    cmd = qemu._command(tmp_path, image, 2222, 512, 1)
    assert option(cmd, "-kernel") == ["/v1/vmlinuz"]
    assert option(cmd, "-initrd") == ["/v1/initrd.img"]
    assert option(cmd, "-append") == [qemu.LEGACY_CMDLINE]
    assert [d for d in option(cmd, "-drive") if d.endswith(",if=virtio")]
    assert "-device" not in cmd or not any(d.startswith("nvme") for d in option(cmd, "-device"))


def test_an_image_directory_without_an_initrd_reads_as_a_direct_boot_image(tmp_path):
    assert image_at(tmp_path).initrd == ""
    (tmp_path / "initrd.img").write_bytes(b"")
    assert image_at(tmp_path).initrd == str(tmp_path / "initrd.img")


LEGACY_IMAGE = Path(IMAGE_CACHE) / LEGACY_IMAGE_NAME


@pytest.mark.slow
@pytest.mark.skipif(not (LEGACY_IMAGE / "initrd.img").exists(), reason="no v1 image here")
def test_a_vm_on_a_v1_image_still_boots_and_logs_in(tmp_path):
    vm_dir = tmp_path / "vm"
    key, pub = make_key(tmp_path, "key")
    port = qemu.free_port()
    try:
        boot(vm_dir, image_at(LEGACY_IMAGE), port, pub)
        assert json.loads((vm_dir / "image.json").read_text())["initrd"]
        done = ssh(port, key, "cat /proc/cmdline")
        assert done.returncode == 0, done.stderr
        assert "root=/dev/vda" in done.stdout
    finally:
        qemu.destroy(vm_dir)


def test_is_running_is_false_without_a_live_qemu(tmp_path):
    assert not qemu.is_running(tmp_path / "missing")
    (tmp_path / "qemu.pid").write_text(str(os.getpid()))  # alive, but not a QEMU
    assert not qemu.is_running(tmp_path)
    (tmp_path / "qemu.pid").write_text("garbage")
    assert not qemu.is_running(tmp_path)


def test_free_port_is_free_and_a_bound_one_is_not():
    port = qemu.free_port()
    assert qemu.port_is_free(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not qemu.port_is_free(port)


def test_wait_for_ssh_fails_fast_when_the_vm_is_gone(tmp_path):
    with pytest.raises(qemu.VmError):
        qemu.wait_for_ssh(qemu.free_port(), 30, vm_dir=tmp_path)


def test_provider_reads_a_missing_vm_as_gone_and_a_dead_one_as_stopped(tmp_path):
    props = {"stack_name": "vm-x", "vms_root": str(tmp_path), "image_cache": "/nowhere",
             "authorized_key": "ssh-ed25519 AAAA x", "memory_mb": 512.0, "vcpus": 1.0,
             "instance_type": "local.small", "ssh_port": 2222.0, "state": "running"}
    provider = LocalVmProvider()
    assert provider.read("vm-x", props).id is None
    (tmp_path / "vm-x").mkdir()
    (tmp_path / "vm-x" / "disk.qcow2").write_bytes(b"")
    result = provider.read("vm-x", props)
    assert result.id == "vm-x" and result.outs["state"] == "stopped"
    assert result.outs["ssh_port"] == 2222
    # A stopped VM is drift that the next `up` repairs; an unchanged running one is not.
    assert provider.diff("vm-x", props, dict(props, memory_mb=512)).changes
    assert provider.diff("vm-x", props, dict(props, stack_name="vm-y")).replaces == ["stack_name"]


def test_provider_pickles_by_reference_and_loads_without_django():
    from pulumi.dynamic.dynamic import serialize_provider

    blob = serialize_provider(LocalVmProvider())
    code = ("import base64, sys, dill; p = dill.loads(base64.b64decode(sys.argv[1])); "
            "assert 'django' not in sys.modules, 'django imported'; print(type(p).__module__)")
    env = {**os.environ, "PYTHONPATH": str(BASE_DIR)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run([sys.executable, "-c", code, blob], capture_output=True, text=True,
                          timeout=60, env=env, cwd="/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "vms.programs.local_provider"


PULUMI_ROOT = Path.home() / ".pulumi" / "versions" / "3.260.0"


def pulumi_stack(tmp_path, spec):
    from pulumi import automation as auto
    from semver import VersionInfo

    from vms.programs.local import program

    (tmp_path / "state").mkdir(exist_ok=True)
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(tmp_path), pulumi_home=str(tmp_path / "home"),
        secrets_provider="passphrase",
        env_vars={"PULUMI_CONFIG_PASSPHRASE": "test", "PULUMI_SKIP_UPDATE_CHECK": "true",
                  "PULUMI_PYTHON_CMD": sys.executable, "PYTHONPATH": str(BASE_DIR)},
        project_settings=auto.ProjectSettings(
            name="herocool-localvm-test", runtime="python",
            backend=auto.ProjectBackend((tmp_path / "state").as_uri())),
        pulumi_command=auto.PulumiCommand(root=str(PULUMI_ROOT),
                                          version=VersionInfo.parse("3.260.0")),
    )
    run = program(spec, vms_root=str(tmp_path / "vms"), image_cache=IMAGE_CACHE)
    return auto.create_or_select_stack(stack_name="test", project_name="herocool-localvm-test",
                                       program=run, opts=opts)


def up(stack):
    return {key: out.value for key, out in stack.up(color="never").outputs.items()}


def vm_state(stack):
    """The LocalVm's outputs as stored by the last operation (refresh does not rerun exports)."""
    resources = stack.export_stack().deployment["resources"]
    return next(r["outputs"] for r in resources if r["type"].endswith(":LocalVm"))


@pytest.mark.slow
@pytest.mark.skipif(not (PULUMI_ROOT / "bin" / "pulumi").exists(), reason="no pulumi CLI")
def test_provider_under_the_pulumi_engine(image, tmp_path):
    from dataclasses import replace

    from vms.programs.spec import VmSpec

    key1, pub1 = make_key(tmp_path, "key1")
    key2, pub2 = make_key(tmp_path, "key2")
    spec = VmSpec(stack_name="vm-test-1", owner="t", instance_type="local.small",
                  ssh_public_key=pub1.strip(), allowed_cidr="127.0.0.1/32")
    stack = pulumi_stack(tmp_path, spec)
    vm_dir = tmp_path / "vms" / "vm-test-1"
    try:
        outs = up(stack)
        assert outs["state"] == "running" and outs["ssh_user"] == "herocool"
        port = int(outs["ssh_port"])
        assert ssh(port, key1).returncode == 0

        stack = pulumi_stack(tmp_path, replace(spec, ssh_public_key=pub2.strip()))
        assert int(up(stack)["ssh_port"]) == port
        assert ssh(port, key1).returncode != 0 and ssh(port, key2).returncode == 0

        kill_qemu(vm_dir)
        stack.refresh(color="never")
        assert vm_state(stack)["state"] == "stopped"
        stack.up(color="never")  # a stopped VM is drift: up boots it again
        assert vm_state(stack)["state"] == "running" and ssh(port, key2).returncode == 0

        stack.destroy(color="never")
        assert not vm_dir.exists() and not port_open(port)
    finally:
        qemu.destroy(vm_dir)
