"""The sweep of orphan guests (vms/reaper.py), their owner records and private files.

The slow test starts real QEMU guests (paused at once: none needs to boot) under
records in every state; the others need no QEMU."""
import json
import os
import signal
import stat
import subprocess
import sys
from unittest import mock

import pytest
from django.utils import timezone

from stacks import engine
from stacks.models import Deployment, Status
from vms import reaper
from vms.localvm import files, owner, qemu
from vms.localvm.image import ensure_image
from vms.models import VirtualMachine

from .guests import alive, kill_everything, qmp


@pytest.fixture
def make_vm(alice, keys):
    def make(name, status, outputs=None):
        return VirtualMachine.objects.create(
            owner=alice, name=name, instance_type="t3.micro",
            ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32", status=status,
            outputs=outputs or {})

    return make


@pytest.fixture
def fake_provider():
    """A process that looks like a provider plugin left behind (`… pulumi.dynamic`)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)",
                             "pulumi.dynamic"])
    yield proc
    proc.kill()
    proc.wait(10)


def owned_by(vm_dir, stack_name, proc):
    vm_dir.mkdir(exist_ok=True)
    (vm_dir / owner.OWNER_FILE).write_text(json.dumps({
        "stack_name": stack_name, "deployment": "d-1", "provider_pid": proc.pid,
        "provider_started": owner._start_time(proc.pid)}))


@pytest.fixture
def guests(settings, vms_root, keys):
    """start(stack_name): a real QEMU guest under VMS_ROOT, its CPUs paused."""
    image = ensure_image(settings.VM_IMAGE_CACHE)

    def start(stack_name):
        vm_dir = vms_root / stack_name
        qemu.start(vm_dir, image, ssh_port=qemu.free_port(),
                   authorized_key=keys["ed25519"][0], memory_mb=128)
        qmp(vm_dir, "stop")
        return vm_dir

    yield start
    kill_everything(vms_root)


def file_modes(vm_dir):
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in vm_dir.iterdir() if p.is_file()}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reaper_stops_orphans_and_leaves_live_and_in_progress_guests_alone(
        alice, make_vm, guests, vms_root, fake_provider):
    live = make_vm("live", Status.LIVE, {"ssh_port": 2222})
    booting = make_vm("booting", Status.PROVISIONING)
    Deployment.objects.create(resource=booting, owner=alice, action="create",
                              status="running", stack_name=booting.stack_name,
                              started_at=timezone.now())
    gone = make_vm("gone", Status.DELETED)
    cancelled = make_vm("cancelled", Status.FAILED)  # its stack was never made
    old_umask = os.umask(0)  # the guest's files must be private all the same
    try:
        dirs = {vm.name: guests(vm.stack_name) for vm in (live, booting, gone, cancelled)}
    finally:
        os.umask(old_umask)
    dirs["stray"] = guests("vm-u999-0123456789ab")
    owned_by(dirs["gone"], gone.stack_name, fake_provider)
    assert stat.S_IMODE(dirs["live"].stat().st_mode) == 0o700
    modes = file_modes(dirs["live"])
    assert {"disk.qcow2", "console.log", "authorized_keys", "qemu.pid"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes

    orphans = [(dirs["gone"], "its VM record is deleted"),
               (dirs["cancelled"], "its stack does not record it (a create stopped "
                                   "before it finished)"),
               (dirs["stray"], "no VM record owns it")]
    assert sorted(reaper.reap_orphan_guests(dry_run=True)) == sorted(orphans)
    assert all(qemu.is_running(d) for d in dirs.values()) and alive(fake_provider.pid)

    assert booting.release_untracked() is None  # its create is in progress
    assert cancelled.release_untracked() == orphans[1][1]
    assert not qemu.is_running(dirs["cancelled"]) and not dirs["cancelled"].exists()

    assert sorted(reaper.reap_orphan_guests()) == sorted([orphans[0], orphans[2]])
    assert fake_provider.wait(10) == -signal.SIGKILL
    for name in ("gone", "stray"):
        assert not qemu.is_running(dirs[name]) and not dirs[name].exists()
    assert owner.running_guests(vms_root).keys() == {dirs["live"], dirs["booting"]}
    assert reaper.reap_orphan_guests() == []  # idempotent


@pytest.mark.django_db
def test_reaper_without_guests_makes_no_query(settings, tmp_path,
                                              django_assert_num_queries):
    settings.VMS_ROOT = tmp_path / "never-made"
    with django_assert_num_queries(0):
        assert reaper.reap_orphan_guests() == []


@pytest.mark.django_db
def test_reaper_asks_the_engine_nothing_when_no_guest_is_suspect(
        make_vm, vms_root, django_assert_max_num_queries):
    live = make_vm("live", Status.LIVE, {"ssh_port": 2222})
    failed = make_vm("failed", Status.FAILED)  # a stopped leftover: a retry replaces it
    for vm in (live, failed):
        (vms_root / vm.stack_name).mkdir()
        (vms_root / vm.stack_name / "disk.qcow2").write_bytes(b"")
    (vms_root / "lost+found").mkdir()  # not a guest's: never removed
    with mock.patch.object(engine, "outputs", autospec=True) as outputs, \
            django_assert_max_num_queries(3):
        assert reaper.reap_orphan_guests() == []
    outputs.assert_not_called()
    assert all((vms_root / vm.stack_name).exists() for vm in (live, failed))
    assert (vms_root / "lost+found").exists()


@pytest.mark.django_db
def test_reaper_removes_a_deleted_records_leftover_disk_and_its_provider(
        make_vm, vms_root, fake_provider):
    gone = make_vm("gone", Status.DELETED)
    vm_dir = vms_root / gone.stack_name
    owned_by(vm_dir, gone.stack_name, fake_provider)
    (vm_dir / "disk.qcow2").write_bytes(b"user data")
    assert reaper.reap_orphan_guests() == [(vm_dir, "its VM record is deleted")]
    assert not vm_dir.exists() and fake_provider.wait(10) == -signal.SIGKILL


@pytest.mark.django_db
def test_reaper_leaves_a_create_in_progress_alone(alice, make_vm, vms_root, fake_provider):
    vm = make_vm("booting", Status.PROVISIONING)
    Deployment.objects.create(resource=vm, owner=alice, action="create", status="running",
                              stack_name=vm.stack_name, started_at=timezone.now())
    owned_by(vms_root / vm.stack_name, vm.stack_name, fake_provider)  # its provider runs
    with mock.patch.object(engine, "outputs", autospec=True) as outputs:
        assert reaper.reap_orphan_guests() == []
        assert vm.release_untracked() is None
    outputs.assert_not_called()
    assert alive(fake_provider.pid) and (vms_root / vm.stack_name).exists()


def test_owner_record_names_stack_deployment_and_provider_privately(tmp_path, monkeypatch,
                                                                     fake_provider):
    monkeypatch.setenv("RQ_JOB_ID", "5b0c1a6e-code")
    old_umask = os.umask(0)
    try:
        owner.record(files.make_private_dir(tmp_path / "vm"), "vm-u1-abc")
    finally:
        os.umask(old_umask)
    vm_dir = tmp_path / "vm"
    assert stat.S_IMODE(vm_dir.stat().st_mode) == 0o700
    assert file_modes(vm_dir) == {"owner.json": 0o600}
    record = owner.read(vm_dir)
    assert record["stack_name"] == "vm-u1-abc" and record["deployment"] == "5b0c1a6e-code"
    assert record["provider_pid"] == os.getpid()
    assert owner.live_provider(record) is None  # this process is not a provider plugin

    owned_by(vm_dir, "vm-u1-abc", fake_provider)
    record = owner.read(vm_dir)
    assert owner.live_provider(record) == fake_provider.pid
    reused = dict(record, provider_started=record["provider_started"] - 1)
    assert owner.live_provider(reused) is None  # same pid, another process: untouched
    assert owner.stop_provider(reused) is False and alive(fake_provider.pid)
    assert owner.stop_provider(record) is True
    assert fake_provider.wait(10) == -signal.SIGKILL


@pytest.mark.django_db
def test_the_tick_caps_every_guest_console(make_vm, vms_root, monkeypatch):
    """A guest printing without end cannot fill the host's disk (issue #19)."""
    from vms.localvm import console

    monkeypatch.setattr(console, "MAX_BYTES", 1000)
    live = make_vm("live", Status.LIVE, {"ssh_port": 2222})
    vm_dir = vms_root / live.stack_name
    vm_dir.mkdir(parents=True)
    (vm_dir / "disk.qcow2").write_bytes(b"")
    (vm_dir / "console.log").write_bytes(b"x" * 5000 + b"last line\n")
    assert reaper.reap_orphan_guests() == []  # a live machine's guest: left alone
    assert (vm_dir / "console.log").stat().st_size == 0
    kept = (vm_dir / "console.log.1").read_bytes()
    assert len(kept) == 1000 and kept.endswith(b"last line\n")
