"""What the forking worker's parent does once so that each work horse starts warm
(stacks/rqworker.warm_up): a forked job pays for nothing the parent could have done."""
from django.urls import clear_url_caches, get_resolver
from django.utils.translation import get_language

from stacks import rqworker, urlcache


def test_warm_up_builds_the_url_resolvers_reverse_index_before_any_fork():
    """A job's webhook payload links to the deployment's page: left to the work horse,
    that first reverse() cost 0.15 s of every forked update (issue #13)."""
    clear_url_caches()
    urlcache._parts.cache_clear()  # noqa: SLF001
    rqworker.warm_up()
    assert get_language() in get_resolver()._reverse_dict  # noqa: SLF001
    assert urlcache._parts.cache_info().currsize == 1  # noqa: SLF001
