"""The data set: users, sites and VMs with their deployments, bulk-created; the queue."""
import threading
import time
import uuid
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from bench.common import PAGE_HTML, log
from sites.models import Site
from stacks.models import Deployment, DeploymentLogChunk, Status
from vms.models import VirtualMachine

User = get_user_model()
DEPLOY_LOG = "\n".join(
    f"Updating (site-u1-abc/{i}): + pulumi:pulumi:Stack site created ({i * 0.1:.1f}s)"
    for i in range(20))  # about 1.3 KB, like a short real log
SSH_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHerocoolBenchmarkKeyNotARealOneAtAll0000"
           " bench@herocool")


def make_users(names):
    users = [User(username=n, password=make_password(None)) for n in names]
    User.objects.bulk_create(users, batch_size=1000)
    return {u.username: u for u in User.objects.filter(username__in=names)}


def numbered_users(prefix, count):
    """`count` new users named prefix-000, prefix-001, … in that order."""
    users = make_users([f"{prefix}-{i:03d}" for i in range(count)])
    return [users[f"{prefix}-{i:03d}"] for i in range(count)]


def _site(owner, i, status):
    code = uuid.uuid4()
    stack = f"site-u{owner.pk}-{code.hex[:12]}"
    return Site(owner=owner, code=code, name=f"site-{i}", target="local", status=status,
                stack_name=stack, content=PAGE_HTML,
                outputs={"website_url": f"http://{stack}.localhost:8001/",
                         "content_hash": "0" * 64})


def _vm(owner, i, status):
    code = uuid.uuid4()
    return VirtualMachine(
        owner=owner, code=code, name=f"vm-{i}", target="local", status=status,
        stack_name=f"vm-u{owner.pk}-{code.hex[:12]}", instance_type="t3.micro",
        ssh_public_key=SSH_KEY, allowed_cidr="203.0.113.7/32",
        outputs={"public_ip": "127.0.0.1", "ssh_port": 2200 + i % 100,
                 "ssh_user": "herocool", "state": "running"})


def _deployments(owner, site_rows, vm_rows, each):
    site_type = ContentType.objects.get_for_model(Site)
    vm_type = ContentType.objects.get_for_model(VirtualMachine)
    # Interleaved, so that the latest deployments (the dashboard's feed) name sites and
    # VMs alike.
    pairs = []
    for i in range(max(len(site_rows), len(vm_rows))):
        pairs += [(site_type, r) for r in site_rows[i:i + 1]]
        pairs += [(vm_type, r) for r in vm_rows[i:i + 1]]
    return [Deployment(resource_type=ctype, resource_id=r.pk, owner=owner,
                       stack_name=r.stack_name, requested_by=owner,
                       action=Deployment.Action.CREATE if k == 0 else Deployment.Action.UPDATE,
                       status=Deployment.State.SUCCEEDED,
                       summary={"result": "succeeded", "changes": {"create": 1}})
            for ctype, r in pairs for k in range(each)]


def add_resources(owner, sites, vms, *, deployments_each=2, status=Status.LIVE):
    """Bulk-create `sites` sites and `vms` VMs for owner, each with its deployments."""
    site_rows = [_site(owner, i, status) for i in range(sites)]
    vm_rows = [_vm(owner, i, status) for i in range(vms)]
    Site.objects.bulk_create(site_rows, batch_size=1000)
    VirtualMachine.objects.bulk_create(vm_rows, batch_size=1000)
    deployments = Deployment.objects.bulk_create(
        _deployments(owner, site_rows, vm_rows, deployments_each), batch_size=2000)
    DeploymentLogChunk.objects.bulk_create(
        [DeploymentLogChunk(deployment_id=d.pk, start=0, end=len(DEPLOY_LOG), text=DEPLOY_LOG)
         for d in deployments], batch_size=2000)
    return site_rows, vm_rows


def build_dataset(sizes, total):
    """Users with N sites and N VMs each (N in sizes), the rest of `total` resources
    spread over other users, 100 each; two deployments per resource."""
    t0 = time.perf_counter()
    bench = make_users([f"bench-n{n}" for n in sizes])
    for n in sizes:
        add_resources(bench[f"bench-n{n}"], n, n)
    left = total - 2 * sum(sizes)
    for filler in numbered_users("filler", (left + 99) // 100):
        chunk = min(100, left)
        add_resources(filler, chunk // 2, chunk - chunk // 2)
        left -= chunk
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    counts = {"sites": Site.objects.count(), "vms": VirtualMachine.objects.count(),
              "deployments": Deployment.objects.count(), "users": User.objects.count()}
    log(f"data set: {counts} in {time.perf_counter() - t0:.1f}s")
    return bench, counts


def empty_queue():
    """The shared queue, emptied, with this host's (where new local sites' jobs go)."""
    import django_rq
    from django.conf import settings

    django_rq.get_queue(settings.HOST_QUEUE).empty()
    queue = django_rq.get_queue("default")
    queue.empty()
    return queue


def queued_jobs():
    """Jobs waiting on the shared queue and on this host's."""
    import django_rq
    from django.conf import settings

    return django_rq.get_queue("default").count + django_rq.get_queue(settings.HOST_QUEUE).count


@contextmanager
def host_standing_by():
    """This machine as a live host while the web tier is measured with no worker running
    (a new local site is placed on a live host only: stacks/hosts.py): a real RQ worker
    registration on its queue, heartbeating every second, that never takes a job."""
    import django_rq
    from django.conf import settings

    from stacks.hosts import Host
    from stacks.rqworker import HerocoolSimpleWorker

    queue = django_rq.get_queue(settings.HOST_QUEUE)
    worker = HerocoolSimpleWorker([queue], connection=queue.connection,
                                  name=f"bench-standby-{uuid.uuid4().hex[:8]}")
    worker.register_birth()
    Host.register_this()
    stop = threading.Event()

    def heartbeat():
        while not stop.wait(1):
            worker.heartbeat()

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        worker.register_death()
