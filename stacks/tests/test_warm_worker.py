"""What the forking worker's parent does once so that each work horse starts warm
(stacks/rqworker.warm_up): a forked job pays for nothing the parent could have done."""
import pytest
from django.urls import clear_url_caches, get_resolver
from django.utils.translation import get_language

from stacks import rqworker, urlcache

# warm_up reads the content types (and closes its connection after).
pytestmark = pytest.mark.django_db(transaction=True)


def test_warm_up_builds_the_url_resolvers_reverse_index_before_any_fork():
    """A job's webhook payload links to the deployment's page: left to the work horse,
    that first reverse() cost 0.15 s of every forked update (issue #13)."""
    clear_url_caches()
    urlcache._parts.cache_clear()  # noqa: SLF001
    rqworker.warm_up()
    assert get_language() in get_resolver()._reverse_dict  # noqa: SLF001
    assert urlcache._parts.cache_info().currsize == 1  # noqa: SLF001


WARM_THEN_SERVE = """
import sys
import django
django.setup()
from stacks import engine, rqworker
rqworker.warm_up()
before = set(sys.modules)
with engine._grpc_server([lambda server: None]):
    pass
print(" ".join(sorted(m for m in set(sys.modules) - before if m.startswith("grpc"))))
"""


def test_after_warm_up_serving_a_program_imports_no_grpc_module():
    """Each job serves its program and events from a gRPC server: its modules (10 ms)
    come from the parent, not imported again in every work horse."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "herocool_project.settings"}
    out = subprocess.run([sys.executable, "-c", WARM_THEN_SERVE], cwd=settings.BASE_DIR,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == []


def test_warm_up_caches_the_content_types_and_leaves_no_connection_to_fork(
        django_assert_num_queries):
    """A job's deployment names its resource by content type: read by the parent once,
    not by a query in every work horse before its CLI starts."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from sites.models import Site

    ContentType.objects.clear_cache()
    rqworker.warm_up()
    assert connection.connection is None  # closed: a fork must not share it
    site_type = ContentType.objects.get_for_model(Site)
    with django_assert_num_queries(0):
        assert ContentType.objects.get_for_id(site_type.pk) == site_type
