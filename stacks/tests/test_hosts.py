"""Hosts (stacks/hosts.py): liveness from RQ heartbeats, placement by free capacity,
routing to the host's queue, unreachable hosts shown and refused, drain_host.

Other hosts are real RQ worker registrations in the test Redis (a birth and a
heartbeat, as a worker on that machine writes them) with their Host rows; this machine
is a live host by the `this_host` fixture."""
import uuid
from datetime import timedelta

import django_rq
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rq import Worker
from rq.utils import utcformat

from sites.models import Site
from stacks import hosts, services
from stacks.hosts import Host, host_queue, live_host_names
from stacks.models import Deployment, Status
from stacks.rqworker import HerocoolSimpleWorker
from vms.models import VirtualMachine
from vms.tests.conftest import keys  # noqa: F401 - real SSH keys, for the VM forms

pytestmark = pytest.mark.django_db
PAGE = "<p>hello</p>"


@pytest.fixture
def other_host(settings):
    """Start (register) another live host; all of them stopped at the end."""
    started = []

    def start(name, *, vm_memory_mb=2048, max_sites=100):
        host = Host.objects.create(
            name=name, sites_url_template=f"http://{{host}}.{name}.test:8001/",
            vm_memory_mb=vm_memory_mb, max_sites=max_sites, last_seen=timezone.now())
        q = host_queue(name)
        q.empty()
        worker = HerocoolSimpleWorker([q], connection=q.connection,
                                      name=f"{name}-{uuid.uuid4().hex[:6]}")
        worker.register_birth()
        started.append((worker, q))
        return host

    yield start
    for worker, q in started:
        worker.register_death()
        q.empty()


def silence(host_name):
    """Every worker of the host stops heartbeating: its last one is long past."""
    conn = django_rq.get_connection("default")
    past = timezone.now() - timedelta(minutes=10)
    for worker in Worker.all(connection=conn):
        if hosts.queue_name(host_name) in worker.queue_names():
            conn.hset(worker.key, "last_heartbeat", utcformat(past))


def create_site(client, name, **extra):
    return client.post(reverse("sites-create"),
                       {"name": name, "source": "html", "html": PAGE, **extra})


def create_vm(client, keys, name, instance_type="t3.micro"):
    return client.post(reverse("vms-create"), {
        "name": name, "instance_type": instance_type, "ssh_public_key": keys["ed25519"][0],
        "allowed_cidr": "127.0.0.1/32"})


# --- liveness --------------------------------------------------------------------------

def test_a_host_is_live_while_a_worker_of_its_queue_heartbeats(other_host, this_host):
    other_host("b")
    assert {"b", this_host.name} <= live_host_names()
    silence("b")
    assert "b" not in live_host_names() and this_host.name in live_host_names()


def test_a_worker_that_serves_default_serves_its_host_queue(settings):
    from django_rq.workers import get_worker

    worker = get_worker("maintenance", "default")
    assert worker.queue_names() == ["maintenance", "default", settings.HOST_QUEUE]
    assert get_worker("maintenance").queue_names() == ["maintenance"]


def test_a_worker_records_its_host_as_it_starts(settings, queue):
    settings.HOST_VM_MEMORY_MB, settings.HOST_MAX_SITES = 3072, 7
    Host.objects.all().delete()
    HerocoolSimpleWorker([queue], connection=queue.connection).work(burst=True)
    host = Host.objects.get(name=settings.HEROCOOL_HOST)
    assert (host.vm_memory_mb, host.max_sites) == (3072, 7)
    assert host.sites_url_template == settings.SITES_URL_TEMPLATE


# --- placement -------------------------------------------------------------------------

def test_sites_go_to_the_live_host_with_fewest_sites(alice_client, alice, this_host,
                                                     other_host):
    b = other_host("b")
    dead = other_host("dead")
    silence("dead")
    for n in range(4):
        create_site(alice_client, f"s{n}")
    placed = list(Site.objects.order_by("pk").values_list("host__name", flat=True))
    assert sorted(placed) == sorted([this_host.name, b.name] * 2)
    assert not Site.objects.filter(host=dead).exists()


def test_a_full_host_gets_no_more_sites(alice_client, this_host, other_host):
    other_host("b", max_sites=1)
    for n in range(3):
        create_site(alice_client, f"s{n}")
    assert Site.objects.filter(host__name="b").count() == 1
    assert Site.objects.filter(host=this_host).count() == 2


def test_vms_go_to_the_host_with_most_free_memory(alice_client, keys, this_host,
                                                  other_host, settings):
    settings.QUOTA_VM_MEMORY_MB = 8192
    Host.objects.filter(pk=this_host.pk).update(vm_memory_mb=1024)
    other_host("b", vm_memory_mb=1536)
    create_vm(alice_client, keys, "one")    # b: 1536 free, this: 1024
    create_vm(alice_client, keys, "two")    # b: 1024 free, this: 1024 (name decides)
    create_vm(alice_client, keys, "three")  # the other one
    by_host = {vm.name: vm.host.name for vm in VirtualMachine.objects.all()}
    assert by_host["one"] == "b"
    assert sorted(by_host.values()) == sorted(["b", "b", this_host.name])
    response = create_vm(alice_client, keys, "four", instance_type="t3.medium")  # 1024
    assert "No host has room for that machine now" in response.content.decode()
    assert not VirtualMachine.objects.filter(name="four").exists()


def test_no_live_host_refuses_the_create_on_the_form(alice_client, this_host):
    silence(this_host.name)
    response = create_site(alice_client, "nowhere")
    assert "no worker host is up" in response.content.decode()
    assert not Site.objects.exists() and not Deployment.objects.exists()


def test_an_aws_resource_has_no_host_and_uses_the_shared_queue(alice, settings, queue,
                                                               django_capture_on_commit_callbacks):
    settings.HEROCOOL_TARGET = "aws"
    site = Site.objects.create(owner=alice, name="cloud", content=PAGE)
    with django_capture_on_commit_callbacks(execute=True):
        deployment = services.request_deployment(site, Deployment.Action.CREATE, alice)
    site.refresh_from_db()
    assert site.host is None
    assert queue.job_ids == [str(deployment.code)]


# --- routing ---------------------------------------------------------------------------

def test_every_later_deployment_goes_to_the_hosts_queue(alice, other_host, queue,
                                                        django_capture_on_commit_callbacks):
    b = other_host("b")
    site = Site.objects.create(owner=alice, name="placed", content=PAGE, host=b,
                               status=Status.LIVE)
    with django_capture_on_commit_callbacks(execute=True):
        deployment = services.request_deployment(site, Deployment.Action.REFRESH, alice)
    assert host_queue("b").job_ids == [str(deployment.code)]
    assert queue.job_ids == []
    host_queue("b").empty()
    from stacks.sweep import requeue_lost

    assert requeue_lost(grace=0) == [deployment]  # the sweep puts it back there too
    assert host_queue("b").job_ids == [str(deployment.code)] and queue.job_ids == []


def test_cancelling_a_running_deployment_releases_it_on_its_host(alice, other_host, queue):
    b = other_host("b")
    site = Site.objects.create(owner=alice, name="placed", content=PAGE, host=b,
                               status=Status.UPDATING)
    deployment = Deployment.objects.create(resource=site, owner=alice, action="update",
                                           stack_name=site.stack_name, status="running")
    services.cancel(deployment, alice)
    [job] = host_queue("b").jobs
    assert (job.func_name, job.args) == ("stacks.jobs.release_stack", [deployment.pk])
    assert django_rq.get_queue("maintenance").count == 0


# --- unreachable hosts -----------------------------------------------------------------

def test_a_gone_host_shows_its_resources_unreachable_and_refuses_deployments(
        alice_client, alice, other_host, keys):
    b = other_host("b")
    site = Site.objects.create(owner=alice, name="far", content=PAGE, host=b,
                               status=Status.LIVE)
    near = Site.objects.create(owner=alice, name="near", content=PAGE, status=Status.LIVE)
    assert "host unreachable" not in alice_client.get(reverse("sites-index")).content.decode()
    silence("b")
    index = alice_client.get(reverse("sites-index")).content.decode()
    assert index.count("data-unreachable") == 1
    detail = alice_client.get(site.get_absolute_url()).content.decode()
    assert "host unreachable" in detail and "host b" in detail
    assert "host unreachable" not in alice_client.get(near.get_absolute_url()).content.decode()
    assert "host unreachable" in alice_client.get(reverse("accounts-dashboard")).content.decode()
    response = alice_client.post(reverse("sites-refresh", args=[site.code]), follow=True)
    assert "which is unreachable" in response.content.decode()
    assert not Deployment.objects.exists()


# --- drain -----------------------------------------------------------------------------

@pytest.fixture
def drained(alice, this_host, other_host, keys):
    """Host b holds two sites and a VM; this host is live beside it."""
    b = other_host("b")
    sites = [Site.objects.create(owner=alice, name=f"s{n}", content=PAGE, host=b,
                                 status=Status.LIVE) for n in range(2)]
    vm = VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", target="local", host=b,
        ssh_public_key=keys["ed25519"][0], allowed_cidr="127.0.0.1/32", status=Status.LIVE)
    return b, sites, vm


def test_a_dry_run_drain_says_what_would_move_and_moves_nothing(drained, this_host,
                                                                capsys):
    b, sites, vm = drained
    call_command("drain_host", "b", "--dry-run")
    out = capsys.readouterr().out
    assert f"would move site s0 ({sites[0].stack_name}) to {this_host.name}" in out
    assert f"cannot move virtual machine box ({vm.stack_name}, owner alice)" in out
    assert Site.objects.filter(host=b).count() == 2 and not Deployment.objects.exists()


def test_a_drain_redeploys_sites_on_another_host_and_forgets_them_on_the_old(
        drained, this_host, host_queue, django_capture_on_commit_callbacks, capsys):
    b, sites, vm = drained
    with django_capture_on_commit_callbacks(execute=True):
        call_command("drain_host", "b")
    assert "2 to move, 0 held back, 1 that cannot move" in capsys.readouterr().out
    for site in sites:
        site.refresh_from_db()
        assert site.host == this_host and site.status == Status.UPDATING
        update = site.deployments.get()
        assert (update.action, update.params["content"]) == ("update", PAGE)
        assert str(update.code) in host_queue.job_ids
    forgets = hosts.host_queue("b").jobs
    assert sorted(j.args[1] for j in forgets) == sorted(s.pk for s in sites)
    assert {j.func_name for j in forgets} == {"stacks.drain.forget_here"}
    vm.refresh_from_db()
    assert vm.host == b


def test_forgetting_removes_the_files_only_of_a_site_that_moved(alice, settings, tmp_path,
                                                                other_host, this_host):
    from stacks.drain import forget_here

    settings.SITES_ROOT = tmp_path
    moved = Site.objects.create(owner=alice, name="moved", host=other_host("b"))
    here = Site.objects.create(owner=alice, name="here", host=this_host)
    for site in (moved, here):
        (tmp_path / site.host_label).mkdir()
        (tmp_path / site.host_label / "index.html").write_text(PAGE)
    assert forget_here("sites.site", moved.pk) is True
    assert forget_here("sites.site", here.pk) is False
    with pytest.raises(ValueError, match="not a stack-backed resource"):
        forget_here("auth.user", moved.owner_id)  # a forged job names any model
    assert not (tmp_path / moved.host_label).exists()
    assert (tmp_path / here.host_label / "index.html").exists()


def test_drain_refuses_bad_input(drained, this_host):
    with pytest.raises(CommandError, match="No host named 'nope'"):
        call_command("drain_host", "nope")
    silence(this_host.name)
    with pytest.raises(CommandError, match="No other live host"):
        call_command("drain_host", "b")
    assert not Deployment.objects.exists()


def test_a_drain_holds_back_a_busy_site_and_exits_non_zero(drained, capsys):
    b, sites, vm = drained
    Deployment.objects.create(resource=sites[0], owner=sites[0].owner, action="refresh",
                              stack_name=sites[0].stack_name, status="running")
    with pytest.raises(CommandError, match="1 could not move now"):
        call_command("drain_host", "b")
    assert "queued or running" in capsys.readouterr().err
    sites[0].refresh_from_db()
    assert sites[0].host == b


# --- per-host maintenance --------------------------------------------------------------

def test_the_sweep_puts_one_tick_on_each_live_hosts_queue(this_host, other_host, settings):
    from stacks.sweep import sweep

    other_host("b")
    other_host("gone")
    silence("gone")
    assert sorted(sweep()["host_ticks"]) == sorted(["b", this_host.name])
    assert sweep()["host_ticks"] == []  # one waiting tick per host is enough
    assert [j.func_name for j in host_queue("b").jobs] == ["stacks.hosts.host_tick"]
    assert host_queue("gone").count == 0


def test_a_host_tick_refreshes_the_record_and_reaps_here(this_host, settings, run_jobs):
    Host.objects.filter(pk=this_host.pk).update(
        last_seen=timezone.now() - timedelta(hours=1), max_sites=1)
    settings.HOST_MAX_SITES = 9
    assert hosts.host_tick() == []
    this_host.refresh_from_db()
    assert this_host.max_sites == 9
    assert timezone.now() - this_host.last_seen < timedelta(minutes=1)


# --- the liveness reading pages reuse (HOST_LIVENESS_CACHE_SECONDS) ---------------------

def count_worker_reads(monkeypatch):
    reads = []
    real = hosts._read_live_host_names
    monkeypatch.setattr(hosts, "_last_reading", (float("-inf"), None))
    monkeypatch.setattr(hosts, "_read_live_host_names", lambda: reads.append(1) or real())
    return reads


def test_pages_reuse_one_liveness_reading_for_the_cache_seconds(
        alice_client, alice, other_host, settings, monkeypatch):
    settings.HOST_LIVENESS_CACHE_SECONDS = 60
    b = other_host("b")
    Site.objects.create(owner=alice, name="far", content=PAGE, host=b, status=Status.LIVE)
    reads = count_worker_reads(monkeypatch)
    for _ in range(3):
        alice_client.get(reverse("sites-index"))
    alice_client.get(reverse("accounts-dashboard"))
    assert len(reads) == 1
    silence("b")
    assert "b" not in live_host_names()  # fresh=True (the sweep, drain) always reads
    assert len(reads) == 2


def test_with_no_cache_seconds_every_page_reads_liveness_afresh(
        alice_client, alice, other_host, settings, monkeypatch):
    settings.HOST_LIVENESS_CACHE_SECONDS = 0
    b = other_host("b")
    Site.objects.create(owner=alice, name="far", content=PAGE, host=b, status=Status.LIVE)
    reads = count_worker_reads(monkeypatch)
    for _ in range(3):
        alice_client.get(reverse("sites-index"))
    assert len(reads) == 3
    silence("b")
    assert "host unreachable" in alice_client.get(reverse("sites-index")).content.decode()


def test_a_stale_reading_expires_after_the_cache_seconds(alice, other_host, settings,
                                                         monkeypatch):
    settings.HOST_LIVENESS_CACHE_SECONDS = 60
    b = other_host("b")
    site = Site.objects.create(owner=alice, name="far", content=PAGE, host=b,
                               status=Status.LIVE)
    live_host_names()  # a fresh reading: b is live
    assert hosts.is_unreachable(site) is False
    silence("b")
    assert hosts.is_unreachable(site) is False  # within the cache's seconds
    clock = hosts.time.monotonic() + 61
    monkeypatch.setattr(hosts.time, "monotonic", lambda: clock)
    assert hosts.is_unreachable(site) is True
