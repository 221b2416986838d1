"""A machine whose network its host cut says so (issue #19): the host's tick records the
cut on the machine's row (vms/models.py record_network_cuts), so its page and the API, on
any host, show it; a new boot forgets it. No QEMU boots here: test_netwatch.py proves the
cut itself with real guests; here the guest is a process named as a QEMU of ours is."""
import subprocess
import sys
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from stacks.hosts import Host
from stacks.models import Status
from stacks.tests.apiclient import Api, token_for
from vms.localvm import files, qemu
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db
RUNNING = {"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool",
           "state": "running", "booted_at": "2026-01-02T03:04:05+00:00"}
NO_TABLE_UID = 64181  # no nftables table names it: its probe fails, as after a flush
ALERT = "this host's guest network boundary failed its check"


def machine(owner, keys, name="box", host=None, **fields):
    return VirtualMachine.objects.create(
        owner=owner, name=name, instance_type="t3.micro", target="local", host=host,
        ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32", status=Status.LIVE,
        outputs=RUNNING, **fields)


def other_host(name="far-host"):
    return Host.objects.create(name=name, sites_url_template="http://{host}.x.test/",
                               vm_memory_mb=2048, max_sites=10, last_seen=timezone.now())


def check(cut=(), restored=(), still_cut=()):
    """What netwatch.check returns, for these machines."""
    return {"cut": [vm.stack_name for vm in cut],
            "restored": [vm.stack_name for vm in restored],
            "still_cut": [vm.stack_name for vm in still_cut]}


def cut_at(vm):
    vm.refresh_from_db()
    return vm.network_cut_at


def test_a_cut_is_recorded_once_kept_while_still_cut_and_cleared_when_restored(
        alice, keys):
    far = other_host()
    cut, spare = machine(alice, keys, "cut", host=far), machine(alice, keys, "spare", host=far)
    before = timezone.now()
    VirtualMachine.record_network_cuts(check(cut=[cut]))
    first = cut_at(cut)
    assert first is not None and before <= first <= timezone.now()
    assert cut_at(spare) is None

    VirtualMachine.record_network_cuts(check(still_cut=[cut]))
    VirtualMachine.record_network_cuts(check(cut=[cut]))  # a cut seen again: same time
    assert cut_at(cut) == first and cut_at(spare) is None

    VirtualMachine.record_network_cuts(check(restored=[cut]))
    assert cut_at(cut) is None and cut_at(spare) is None


def test_a_host_clears_only_its_own_machines_no_longer_cut(alice, keys, this_host):
    far = other_host()
    mine = machine(alice, keys, "mine", host=this_host)   # stopped or booted again here
    theirs = machine(alice, keys, "theirs", host=far)     # far-host's tick decides
    still = machine(alice, keys, "still", host=this_host)
    for vm in (mine, theirs, still):
        VirtualMachine.record_network_cuts(check(cut=[vm]))
    first = cut_at(still)

    VirtualMachine.record_network_cuts(check(still_cut=[still]))
    assert cut_at(mine) is None
    assert cut_at(theirs) is not None and cut_at(still) == first


@pytest.fixture
def fake_guest(vms_root):
    """Start a process named as a QEMU of ours with a way out (restrict=off, -runas a
    uid whose boundary fails), in the directory of `vm`: netwatch.check finds it."""
    started = []

    def start(vm):
        vm_dir = files.make_private_dir(vms_root / vm.stack_name)
        started.append(subprocess.Popen(
            ["qemu-system-x86_64", "-c", "import time; time.sleep(120)",
             "-pidfile", str(vm_dir / "qemu.pid"),
             "-netdev", "user,id=net0,restrict=off", "-runas", f"{NO_TABLE_UID}:0"],
            executable=sys.executable))
        return vm_dir

    yield start
    for process in started:
        process.kill()
        process.wait()


@pytest.mark.skipif(subprocess.os.geteuid() != 0, reason="the uid probe needs root")
def test_the_host_tick_records_a_guest_it_keeps_cut_from_the_real_check(
        alice, keys, this_host, fake_guest):
    kept = machine(alice, keys, "kept", host=this_host)
    gone = machine(alice, keys, "gone", host=this_host,
                   network_cut_at=timezone.now() - timedelta(hours=1))
    vm_dir = fake_guest(kept)
    (vm_dir / qemu.NET_CUT).write_text("")  # cut by an earlier tick: no QMP needed now

    VirtualMachine.tend_host()
    assert cut_at(kept) is not None  # still cut: the probe fails for its uid
    assert cut_at(gone) is None      # no guest of it runs here any more


def test_a_new_boot_or_a_stop_forgets_the_cut_and_a_refresh_keeps_it(alice, keys):
    vm = machine(alice, keys)
    VirtualMachine.record_network_cuts(check(cut=[vm]))
    vm.refresh_from_db()
    assert "network_cut_at" not in vm.output_fields(dict(RUNNING))  # same boot: still cut
    rebooted = {**RUNNING, "booted_at": "2026-01-03T00:00:00+00:00"}
    assert vm.output_fields(rebooted)["network_cut_at"] is None
    stopped = {**RUNNING, "state": "stopped", "booted_at": None}
    assert vm.output_fields(stopped)["network_cut_at"] is None


def test_the_page_warns_its_owner_while_cut_and_not_after(alice_client, alice, bob, client,
                                                          keys):
    vm = machine(alice, keys)
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert "data-network-cut" not in page

    VirtualMachine.record_network_cuts(check(cut=[vm]))
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert 'role="alert" id="network-cut" data-network-cut' in page and ALERT in page
    assert "it comes back on by itself once the boundary holds again" in page
    assert 'data-status="live"' in page  # the badge still says live
    assert vm.stack_name not in page.split("data-network-cut")[1].split("</div>")[0]
    client.force_login(bob)  # a stranger: 404, as before
    assert client.get(vm.get_absolute_url()).status_code == 404

    VirtualMachine.record_network_cuts(check(restored=[vm]))
    assert "data-network-cut" not in alice_client.get(vm.get_absolute_url()).content.decode()


def test_the_time_is_shown_in_the_users_time_zone(alice_client, alice, keys):
    alice_client.cookies["tz"] = "Asia/Tokyo"  # as the browser's script sets it
    vm = machine(alice, keys, network_cut_at=timezone.now() - timedelta(hours=2))
    page = alice_client.get(vm.get_absolute_url()).content.decode()
    assert "Network off for 2" in page and "JST" in page.split("data-network-cut")[1]


def test_a_machine_not_live_shows_no_network_alert(alice_client, alice, keys):
    vm = machine(alice, keys, network_cut_at=timezone.now())
    VirtualMachine.objects.filter(pk=vm.pk).update(status=Status.FAILED)
    assert "data-network-cut" not in alice_client.get(vm.get_absolute_url()).content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_api_shows_the_cut_in_the_detail_and_the_list(live_server, alice, keys):
    api = Api(live_server.url, token_for(alice, "read"))
    vm = machine(alice, keys)
    assert api.get(f"vms/{vm.code}/")[1]["network_cut_at"] is None

    VirtualMachine.record_network_cuts(check(cut=[vm]))
    vm.refresh_from_db()
    status, detail, _ = api.get(f"vms/{vm.code}/")
    assert status == 200 and detail["network_cut_at"] is not None
    assert detail["network_cut_at"][:19] == vm.network_cut_at.isoformat()[:19]
    status, listed, _ = api.get("vms/")
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["network_cut_at"] for row in rows] == [detail["network_cut_at"]]
    field = api.get("schema/?format=json")[1]["components"]["schemas"]["Vm"][
        "properties"]["network_cut_at"]
    assert field["readOnly"] and field["nullable"]


def test_the_admin_shows_the_cut_and_filters_the_cut_machines(admin_client, alice, keys):
    cut = machine(alice, keys, "cut")
    machine(alice, keys, "fine")
    VirtualMachine.record_network_cuts(check(cut=[cut]))
    url = reverse("admin:vms_virtualmachine_changelist")
    listed = admin_client.get(url, {"network_cut": "yes"}).content.decode()
    assert ">cut<" in listed and ">fine<" not in listed
    change = admin_client.get(reverse("admin:vms_virtualmachine_change", args=[cut.pk]))
    assert "Network cut at" in change.content.decode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_deployment_that_boots_the_guest_again_clears_the_cut_and_a_refresh_does_not(
        alice_client, alice, keys, run_jobs, monkeypatch):
    """The real engine and worker; the guest's program stands in for QEMU, exporting
    what the local provider reports (a new booted_at at each boot)."""
    import pulumi

    from stacks import engine

    booted = {"at": "2026-01-02T03:04:05+00:00"}

    def program(vm):
        def run():
            for key, value in {**RUNNING, "booted_at": booted["at"]}.items():
                pulumi.export(key, value)
        return run

    monkeypatch.setattr(VirtualMachine, "program", program)
    alice_client.post(reverse("vms-create"), {
        "name": "box", "instance_type": "t3.micro", "ssh_public_key": keys["ed25519"][0],
        "allowed_cidr": "127.0.0.1/32"})
    run_jobs()
    vm = VirtualMachine.objects.get(name="box")
    try:
        assert vm.status == Status.LIVE, vm.last_error
        VirtualMachine.record_network_cuts(check(still_cut=[vm]))
        first = cut_at(vm)

        alice_client.post(reverse("vms-refresh", args=[vm.code]))
        run_jobs()  # the same boot: the guest's link is still down
        assert vm.deployments.latest("queued_at").status == "succeeded"
        assert cut_at(vm) == first

        booted["at"] = "2026-01-03T00:00:00+00:00"
        alice_client.post(reverse("vms-reboot", args=[vm.code]))
        run_jobs()  # a new QEMU: its link is up
        vm.refresh_from_db()
        assert vm.status == Status.LIVE and vm.restarts == 1
        assert vm.network_cut_at is None
    finally:
        engine.destroy(vm.pulumi_project, vm.stack_name, lambda: None)
