"""A site's address label: readable, unique, never reused, fixed at creation, and kept
for sites made before labels (the migration's backfill)."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from sites import address
from sites.models import Site
from stacks.models import Status

pytestmark = pytest.mark.django_db


def test_the_label_is_the_name_and_the_owner(alice):
    site = Site.objects.create(owner=alice, name="blog")
    assert site.address_label == "blog--alice"
    assert site.spec().host_label == "blog--alice"


def test_a_username_becomes_lowercase_letters_digits_and_hyphens(django_user_model):
    carol = django_user_model.objects.create_user("Carol.Smith+web@X_1")
    site = Site.objects.create(owner=carol, name="shop")
    assert site.address_label == "shop--carol-smith-web-x-1"


def test_labels_are_capped_to_one_dns_label_without_a_trailing_hyphen():
    name = "a" * 39 + "-b" + "c" * 21
    assert len(name) == 62
    made = address.label(name, "u" * 150)
    assert len(made) <= 63 and not made.endswith("-") and "--uuuu" in made
    suffixed = address.label(name, "u" * 150, "k3x9")
    assert len(suffixed) <= 63 and suffixed.endswith("-k3x9")
    assert address.label("xn", "alice") == "site-xn--alice"  # never read as punycode


def test_a_taken_label_gets_a_short_suffix(django_user_model):
    """"a.b" and "a_b" spell the same label: the second site gets another one."""
    first = Site.objects.create(owner=django_user_model.objects.create_user("a.b"), name="x")
    second = Site.objects.create(owner=django_user_model.objects.create_user("a_b"), name="x")
    assert first.address_label == "x--a-b"
    assert second.address_label.startswith("x--a-b-") and len(second.address_label) == 11


def test_a_deleted_sites_label_is_never_given_to_another_site(django_user_model):
    old = Site.objects.create(owner=django_user_model.objects.create_user("a.b"), name="x",
                              status=Status.DELETED)
    new = Site.objects.create(owner=django_user_model.objects.create_user("a_b"), name="x")
    assert old.address_label == "x--a-b" and new.address_label != old.address_label
    again = Site.objects.create(owner=old.owner, name="x")  # its own owner, too
    assert again.address_label not in (old.address_label, new.address_label)


def test_a_rename_does_not_change_the_address(alice):
    site = Site.objects.create(owner=alice, name="blog")
    site.name = "journal"
    site.save()
    Site.objects.filter(pk=site.pk).update(name="diary")
    site.refresh_from_db()
    assert site.address_label == "blog--alice"


def test_a_site_loaded_without_save_is_published_under_its_stack_name(alice):
    """Bulk loads skip save(): such a site keeps the host it always had."""
    site = Site(owner=alice, name="bulk", stack_name="site-u1-0123456789ab", target="local")
    Site.objects.bulk_create([site])
    site = Site.objects.get(name="bulk")
    assert site.address_label is None and site.host_label == "site-u1-0123456789ab"


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_sites_at_their_address(alice):
    executor = MigrationExecutor(connection)
    executor.migrate([("sites", "0003_host")])
    old_apps = executor.loader.project_state([("sites", "0003_host")]).apps
    OldSite = old_apps.get_model("sites", "Site")
    OldSite.objects.create(owner_id=alice.pk, name="old", stack_name="site-u1-aaaaaaaaaaaa",
                           target="local", status="live")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    site = Site.objects.get(name="old")
    assert site.address_label == "site-u1-aaaaaaaaaaaa"
    assert site.host_label == site.stack_name
