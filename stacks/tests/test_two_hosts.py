"""Two worker "hosts" on one machine, sharing only PostgreSQL (the platform's rows and the
Pulumi state, postgres://) and Redis: each is a real forking worker process
(stacks/tests/host_worker.py) and a real sites origin (`manage.py serve_sites`) with a
HEROCOOL_HOST, data directory, sites root and origin port of its own. The test process
is the web tier only: it is no host.

VMs are placed on the two hosts by the capacities the workers recorded (without booting
QEMU: the placement is the platform's); one machine is then created for real, boots on
the host placed for it, in that host's data directory, and answers SSH there."""
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.urls import reverse

from conftest import wait_for
from sites.models import Site
from stacks import hosts, services
from stacks.hosts import Host, live_host_names
from stacks.models import Deployment, Status
from stacks.tests.host_worker import SLOW
from stacks.tests.test_sweep import FAST
from vms.models import VirtualMachine
from vms.tests.conftest import keys  # noqa: F401 - real SSH keys

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True),
              pytest.mark.parametrize("_own_pulumi_backend", ["postgres"], indirect=True)]
NAMES = ("host-a", "host-b")


@pytest.fixture
def this_host():
    """The test process is the web tier: not a host (overrides conftest's)."""
    return None


@dataclass
class Machine:
    name: str
    env: dict
    port: int
    data: Path
    worker: subprocess.Popen = None


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def machines(settings, tmp_path):
    """The environment of each host: its name, data directory, sites root and origin."""
    made = {}
    for name, memory in zip(NAMES, (1024, 2048)):
        data, port = tmp_path / name, free_port()
        made[name] = Machine(name, {
            "HEROCOOL_HOST": name, "HEROCOOL_DATA_DIR": str(data),
            "HEROCOOL_SITES_ROOT": str(data / "sites"), "HEROCOOL_SITES_PORT": str(port),
            "HEROCOOL_SITES_URL_TEMPLATE": f"http://{{host}}.localhost:{port}/",
            "HEROCOOL_HOST_VM_MEMORY_MB": str(memory), "HEROCOOL_VMS_ROOT": str(data / "vms"),
            # What all hosts share besides the databases: the state's passphrase.
            "PULUMI_CONFIG_PASSPHRASE": settings.PULUMI_CONFIG_PASSPHRASE, **FAST}, port, data)
    return made


@pytest.fixture
def two_hosts(machines, processes):
    """Both hosts up: worker and sites origin each; waits until both are live."""
    for machine in machines.values():
        machine.worker = processes("stacks/tests/host_worker.py", **machine.env)
        processes("manage.py", "serve_sites", **machine.env)

    def both_live():
        """both hosts to record themselves and heartbeat"""
        return (set(NAMES) <= live_host_names()
                and Host.objects.filter(name__in=NAMES).count() == 2)

    wait_for(both_live, timeout=90)
    return machines


def get(port, url):
    """GET a site URL from one origin port, with the URL's host name."""
    host = url.split("//", 1)[1].split("/", 1)[0]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def finished(deployment, timeout=90):
    def done():
        """the deployment to finish"""
        deployment.refresh_from_db()
        return deployment.status in ("succeeded", "failed", "cancelled")

    wait_for(done, timeout=timeout)
    return deployment


def run_on(host_name, resource, action, user, monkeypatch, params=None):
    """A deployment of a hostless (aws) resource, put on one host's queue to choose which
    host runs it (any host may)."""
    with monkeypatch.context() as patch:
        patch.setattr(hosts, "queue_for", lambda _resource: hosts.host_queue(host_name))
        deployment = services.request_deployment(resource, action, user, params=params)
    return finished(deployment)


def stack_locks(settings, stack_name):
    table = parse_qs(urlsplit(settings.PULUMI_BACKEND_URL).query)["table"][0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [table])
        if cursor.fetchone()[0] is None:
            return []  # the CLI makes its table when it first writes
        cursor.execute(f"SELECT key FROM {table} WHERE key LIKE %s AND key LIKE %s",
                       ["%/locks/%", f"%{stack_name}%"])
        return [row[0] for row in cursor.fetchall()]


def sweep_state(deployment, settings, stack_name):
    """What a timed-out wait on the sweep shows: the deployment, the stack's locks, the
    maintenance queue's recent sweeps (results and errors), PostgreSQL's busy sessions
    and the Pulumi processes still running."""
    from herocool_project import redisconn

    deployment.refresh_from_db()
    lines = [f"deployment: {deployment.status} worker={deployment.worker_name} "
             f"error={deployment.error[:200]!r}",
             f"locks: {stack_locks(settings, stack_name)}", f"live hosts: {live_host_names()}"]
    queue = redisconn.queue("maintenance")
    lines.append(f"maintenance: {queue.count} queued, started "
                 f"{queue.started_job_registry.get_job_ids()}")
    for registry in (queue.finished_job_registry, queue.failed_job_registry):
        for job in queue.job_class.fetch_many(registry.get_job_ids()[-4:],
                                              connection=queue.connection,
                                              serializer=queue.serializer):
            result = job and job.latest_result()
            if result is not None:
                said = result.return_value if result.exc_string is None else \
                    result.exc_string[-600:]
                lines.append(f"  {job.func_name} {job.ended_at}: {said!r}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, state, wait_event_type, wait_event, "
                       "now() - query_start, left(query, 120) FROM pg_stat_activity "
                       "WHERE state <> 'idle' AND pid <> pg_backend_pid()")
        lines += [f"  pg {row}" for row in cursor.fetchall()]
    ps = subprocess.run(["ps", "-eo", "pid,pgid,etimes,args"], capture_output=True,
                        text=True).stdout.splitlines()
    lines += [f"  ps {line}" for line in ps if "pulumi" in line]
    return "\n".join(lines)


def test_two_hosts_place_serve_and_share_one_state(two_hosts, alice, alice_client, keys,
                                                   settings, monkeypatch):
    # Sites: placed on both hosts, each served by its own host's origin only.
    for n in range(4):
        alice_client.post(reverse("sites-create"),
                          {"name": f"s{n}", "source": "html", "html": f"<p>{n}</p>"})
    sites = list(Site.objects.order_by("name"))
    for site in sites:
        finished(site.deployments.get())
    placed = {}
    for n, site in enumerate(sites):
        site.refresh_from_db()
        assert site.status == Status.LIVE, site.last_error
        mine, other = two_hosts[site.host.name], two_hosts[({*NAMES} - {site.host.name}).pop()]
        assert site.website_url == f"http://{site.address_label}.localhost:{mine.port}/"
        assert get(mine.port, site.website_url) == (200, f"<p>{n}</p>")
        assert get(other.port, site.website_url)[0] == 404
        assert (mine.data / "sites" / site.host_label / "live" / "index.html").exists()
        placed.setdefault(site.host.name, []).append(site.name)
    assert sorted(len(v) for v in placed.values()) == [2, 2], placed

    # VMs: by free memory, from the capacities the workers recorded (a 1024, b 2048 MB).
    def new_vm(name, instance_type="t3.micro"):
        vm = VirtualMachine(owner=alice, name=name, instance_type=instance_type,
                            target="local", ssh_public_key=keys["ed25519"][0],
                            allowed_cidr="127.0.0.1/32", status=Status.LIVE)
        vm.host = hosts.place(vm)
        vm.save()
        return vm.host.name

    assert [new_vm(f"v{n}") for n in range(4)] == ["host-b", "host-b", "host-b", "host-a"]
    with pytest.raises(hosts.NoRoom, match="the most any host has free is 512 MB"):
        new_vm("big", "t3.medium")

    # One stack, one state: created by host a, updated and destroyed by host b.
    settings.HEROCOOL_TARGET = "aws"
    cloud = Site.objects.create(owner=alice, name="cloud", content="<p>1</p>")
    created = run_on("host-a", cloud, "create", alice, monkeypatch)
    assert created.status == "succeeded", created.error
    cloud.refresh_from_db()
    assert cloud.host is None and cloud.outputs["made_by"] == "host-a"
    updated = run_on("host-b", cloud, "update", alice, monkeypatch,
                     params={**cloud.proposed(), "content": "<p>2</p>"})
    assert updated.status == "succeeded", updated.error
    cloud.refresh_from_db()
    assert (cloud.outputs["made_by"], cloud.outputs["updated_by"]) == ("host-a", "host-b")
    destroyed = run_on("host-b", cloud, "destroy", alice, monkeypatch)
    assert destroyed.status == "succeeded", destroyed.error
    cloud.refresh_from_db()
    assert cloud.status == Status.DELETED


def ssh_banner(port, timeout=10):
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        return conn.recv(64)


def test_a_machine_boots_on_the_host_placed_for_it_and_answers_there(two_hosts, alice,
                                                                    keys):
    a, b = two_hosts["host-a"], two_hosts["host-b"]
    vm = VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", target="local",
        ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32")
    created = finished(services.request_deployment(vm, "create", alice), timeout=600)
    assert created.status == "succeeded", created.error
    vm.refresh_from_db()
    assert vm.host.name == "host-b"  # the most free memory (2048 MB against 1024)
    # Its disk and guest live in host b's data directory, none of it in host a's.
    assert (b.data / "vms" / vm.stack_name / "owner.json").exists()
    assert not (a.data / "vms" / vm.stack_name).exists()
    assert ssh_banner(vm.outputs["ssh_port"]).startswith(b"SSH-2.0-")
    destroyed = finished(services.request_deployment(vm, "destroy", alice), timeout=300)
    assert destroyed.status == "succeeded", destroyed.error
    assert not (b.data / "vms" / vm.stack_name).exists()


def test_host_b_killed_mid_deployment_is_failed_and_unlocked_by_host_a(
        two_hosts, alice, alice_client, processes, settings, capsys):
    a, b = two_hosts["host-a"], two_hosts["host-b"]
    # Host a holds a site already, so the new one goes to host b (fewest sites).
    Site.objects.create(owner=alice, name="resident", content="x", status=Status.LIVE,
                        host=Host.objects.get(name="host-a"))
    processes("manage.py", "scheduler", "stacks/cron.py", **a.env)
    alice_client.post(reverse("sites-create"),
                      {"name": "doomed", "source": "html", "html": f"<p>d</p>{SLOW}"})
    site = Site.objects.get(name="doomed")
    assert site.host.name == "host-b"
    deployment = site.deployments.get()

    def engine_holds_the_lock():
        """host b's engine to lock the stack in the shared state"""
        deployment.refresh_from_db()
        return deployment.status == "running" and stack_locks(settings, site.stack_name)

    wait_for(engine_holds_the_lock, timeout=90)
    horse_group = os.getpgid(deployment.worker_pid)
    os.killpg(b.worker.pid, signal.SIGKILL)
    os.killpg(horse_group, signal.SIGKILL)
    killed = time.monotonic()

    def failed_and_unlocked():
        """host a's sweep to fail the deployment and unlock the stack"""
        deployment.refresh_from_db()
        return deployment.status == "failed" and not stack_locks(settings, site.stack_name)

    wait_for(failed_and_unlocked, timeout=60,
             explain=lambda: sweep_state(deployment, settings, site.stack_name))
    print(f"failed and unlocked {time.monotonic() - killed:.1f} s after the kill")
    assert "worker running this deployment stopped" in deployment.error

    # Host b is gone: its site says so and takes no deployment...
    wait_for(lambda: "host-b" not in live_host_names(), timeout=30)
    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert "host unreachable" in page
    response = alice_client.post(reverse("sites-retry", args=[site.code]), follow=True)
    assert "which is unreachable" in response.content.decode()
    assert site.deployments.count() == 1

    # ... until drained to host a, which deploys it from its recorded source.
    from django.core.management import call_command

    call_command("drain_host", "host-b")
    site.refresh_from_db()
    assert site.host.name == "host-a"
    moved = finished(site.deployments.filter(action="update").get())
    assert moved.status == "succeeded", moved.error
    site.refresh_from_db()
    assert site.status == Status.LIVE
    assert get(a.port, site.website_url) == (200, f"<p>d</p>{SLOW}")
    # Forgetting its files there waits in host b's queue for host b to come back.
    assert "stacks.drain.forget_here" in [j.func_name for j in
                                          hosts.host_queue("host-b").jobs]


def test_up_from_both_hosts_at_once_one_succeeds_one_is_busy(machines, platform_env,
                                                             settings):
    import pulumi

    from stacks import engine

    engine.up("herocool-twohosts", "shared", lambda: pulumi.export("answer", "web"))
    start_at = time.time() + 3
    runs = [subprocess.Popen(
        [sys.executable, "stacks/tests/host_up.py", "shared", str(start_at)],
        cwd=settings.BASE_DIR, env={**platform_env, **m.env}, stdout=subprocess.PIPE,
        text=True) for m in machines.values()]
    results = sorted(run.communicate(timeout=120)[0].strip() for run in runs)
    assert results == ["busy", "succeeded"]
    assert engine.outputs("herocool-twohosts", "shared")["answer"] in NAMES
