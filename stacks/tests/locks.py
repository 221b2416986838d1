"""Test helpers: hold a resource's quota locks in another connection, and check whether
this connection can take them meanwhile."""
import contextlib
import threading

from django.db import OperationalError, connection, transaction

from stacks import services


@contextlib.contextmanager
def quota_locks_held(resource):
    """A thread holds `resource`'s quota locks in an open transaction for the block."""
    taken, release, failed = threading.Event(), threading.Event(), []

    def hold():
        try:
            with transaction.atomic():
                services.lock_quotas(resource)
                taken.set()
                release.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            failed.append(exc)
            taken.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(10) and not failed, failed
        yield
    finally:
        release.set()
        thread.join(30)


def can_lock_quotas_now(resource, wait_ms=1500):
    """True if this connection takes `resource`'s quota locks within wait_ms."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {int(wait_ms)}")
            services.lock_quotas(resource)
        return True
    except OperationalError as exc:
        assert "lock timeout" in str(exc)
        return False


def ten_site_creates_at_once(owner, team=None):
    """Ten threads, each its own connection, create a site and request its deployment at
    the same instant (`owner`: a user, or a list of ten; for `team` if given). Returns
    each one's outcome: "ok", or the refusal's message."""
    from django.db import close_old_connections

    from sites.models import Site
    from stacks.models import Deployment

    start = threading.Barrier(10)
    outcomes = []

    def create(i):
        start.wait()
        try:
            with transaction.atomic():
                user = owner[i] if isinstance(owner, list) else owner
                site = Site.objects.create(owner=user, team=team, name=f"race{i}",
                                           content="x")
                services.request_deployment(site, Deployment.Action.CREATE, user)
            outcomes.append("ok")
        except services.DeploymentRefused as exc:
            outcomes.append(str(exc))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes
