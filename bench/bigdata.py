"""The big data set: 100,000 resources and 1,000,000 deployments, in bulk SQL.

PostgreSQL only: rows come from INSERT ... SELECT over generate_series, never one ORM
save each, so the whole set is built in about a minute. One user ("bench-big") owns a
tenth of the resources and their deployments (a user with many rows); "bench-small"
owns ten sites and ten VMs (a user with few, in the same big tables); the rest belong to
1,000 other users. Timestamps go in pairs (two rows share each `created`, two
deployments each `queued_at`), so pages that order by time must break ties by id.
"""
import time

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from bench.common import log
from sites.models import Site
from stacks.models import Deployment
from vms.models import VirtualMachine

from bench.data import DEPLOY_LOG, SSH_KEY, make_users

User = get_user_model()
FILLER_USERS = 1000
SMALL_EACH = 10  # bench-small's sites, and VMs


def _filler_users(count):
    """`count` users named big-0000, … that cannot log in, in one statement."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO auth_user (username, password, first_name, last_name, email, "
            "is_staff, is_active, is_superuser, date_joined) "
            "SELECT 'big-' || lpad(i::text, 4, '0'), '!', '', '', '', false, true, false, "
            "now() FROM generate_series(0, %s - 1) i", [count])
        cur.execute("SELECT min(id), max(id) FROM auth_user WHERE username LIKE 'big-%%'")
        return cur.fetchone()


# The owner of row i (1-based) of n: the first `big` rows are bench-big's, the next
# SMALL_EACH bench-small's, the rest spread over the filler users.
OWNER = ("CASE WHEN i <= %(big)s THEN %(big_user)s "
         "WHEN i <= %(big)s + %(small)s THEN %(small_user)s "
         "ELSE %(first)s + (i %% %(fillers)s) END")
# Newest last, two rows per timestamp; 5% deleted, 2% failed, the rest live.
CREATED = "now() - ((%(n)s - i) / 2) * interval '7 minutes'"
STATUS = ("CASE WHEN i %% 20 = 7 THEN 'deleted' WHEN i %% 50 = 3 THEN 'failed' "
          "ELSE 'live' END")


def _sites(params):
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO sites_site (code, name, target, stack_name, status, outputs, "
            "last_error, created, updated, source, source_url, content, owner_id) "
            f"SELECT gen_random_uuid(), 'site-' || i, 'local', 'site-big-' || i, {STATUS}, "
            "jsonb_build_object('website_url', 'http://site-big-' || i || "
            "'.localhost:8001/', 'content_hash', repeat('0', 64)), '', "
            f"{CREATED}, {CREATED}, 'html', '', repeat('<p>Lorem ipsum dolor sit amet.</p>', "
            f"20), {OWNER} FROM generate_series(1, %(n)s) i", params)


def _vms(params):
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO vms_virtualmachine (code, name, target, stack_name, status, "
            "outputs, last_error, created, updated, instance_type, ssh_public_key, "
            "allowed_cidr, ami_id, owner_id, power, restarts, user_data) "
            f"SELECT gen_random_uuid(), 'vm-' || i, 'local', 'vm-big-' || i, {STATUS}, "
            "jsonb_build_object('public_ip', '127.0.0.1', 'ssh_port', 2200 + i %% 100, "
            "'ssh_user', 'herocool', 'state', 'running'), '', "
            f"{CREATED}, {CREATED}, 't3.micro', %(key)s, '203.0.113.7/32', '', {OWNER}, "
            "'running', 0, '' "
            "FROM generate_series(1, %(n)s) i", params)


def _deployments(each):
    """`each` deployments per resource, one hour apart from its creation, inserted in
    time order (ids follow time, as they do when rows come one by one)."""
    site_type = ContentType.objects.get_for_model(Site).pk
    vm_type = ContentType.objects.get_for_model(VirtualMachine).pk
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO stacks_deployment (code, resource_type_id, resource_id, owner_id, "
            "stack_name, action, status, requested_by_id, queued_at, started_at, "
            "finished_at, error, summary, params, worker_name) "
            "SELECT gen_random_uuid(), t, r.id, r.owner_id, r.stack_name, "
            "CASE WHEN k = 1 THEN 'create' ELSE 'update' END, "
            "CASE WHEN (r.id + k) %% 25 = 0 THEN 'failed' ELSE 'succeeded' END, r.owner_id, "
            "r.created + (k - 1) * interval '1 hour', "
            "r.created + (k - 1) * interval '1 hour' + interval '1 second', "
            "r.created + (k - 1) * interval '1 hour' + interval '4 seconds', '', "
            "'{\"result\": \"succeeded\", \"changes\": {\"update\": 1}}', '{}', '' "
            "FROM (SELECT %s AS t, id, owner_id, stack_name, created FROM sites_site "
            "      WHERE stack_name LIKE 'site-big-%%' "
            "      UNION ALL SELECT %s, id, owner_id, stack_name, created "
            "      FROM vms_virtualmachine WHERE stack_name LIKE 'vm-big-%%') r "
            "CROSS JOIN generate_series(1, %s) k "
            "ORDER BY 9, r.id", [site_type, vm_type, each])


def _log_chunks(every):
    """A short log (one chunk) for one deployment of this set in `every`."""
    with connection.cursor() as cur:
        cur.execute(
            'INSERT INTO stacks_deploymentlogchunk (deployment_id, start, "end", text) '
            "SELECT id, 0, %s, %s FROM stacks_deployment WHERE id %% %s = 0 "
            "AND (stack_name LIKE 'site-big-%%' OR stack_name LIKE 'vm-big-%%')",
            [len(DEPLOY_LOG), DEPLOY_LOG, every])


def build_big_dataset(resources=100_000, deployments=1_000_000, big_share=0.1,
                      log_every=20, fillers=FILLER_USERS):
    """The data set above, beside whatever the database holds already (the full run's
    smaller set); returns ({"bench-big": user, "bench-small": user}, counts), the
    counts of the whole database."""
    assert connection.vendor == "postgresql", "the big data set is built in PostgreSQL SQL"
    t0 = time.perf_counter()
    users = make_users(["bench-big", "bench-small"])
    first, _last = _filler_users(fillers)
    per_kind = resources // 2
    params = {"n": per_kind, "big": int(per_kind * big_share), "small": SMALL_EACH,
              "big_user": users["bench-big"].pk, "small_user": users["bench-small"].pk,
              "first": first, "fillers": fillers, "key": SSH_KEY}
    _sites(params)
    _vms(params)
    log(f"big data set: {resources:,} resources in {time.perf_counter() - t0:.1f}s")
    _deployments(deployments // resources)
    log(f"big data set: deployments in {time.perf_counter() - t0:.1f}s")
    _log_chunks(log_every)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")  # statistics, and the visibility map index-only scans use
    counts = {"sites": Site.objects.count(), "vms": VirtualMachine.objects.count(),
              "deployments": Deployment.objects.count(), "users": User.objects.count(),
              "big_user_resources": 2 * params["big"],
              "log_chunks": Deployment.log_chunks.rel.related_model.objects.count(),
              "seconds": round(time.perf_counter() - t0, 1)}
    log(f"big data set: {counts}")
    return users, counts
