"""Custom domains on the local target: claimed, proved by TXT (only the DNS resolver is
stubbed), published by a deployment and served by the origin; never twice, never ours."""
import http.client
from types import SimpleNamespace

import dns.resolver
import pytest
from django.urls import reverse

from sites.domains import DomainError, SiteDomain, clean_domain
from sites.models import Site


@pytest.fixture
def dns_records(monkeypatch):
    """{name: [TXT strings]} answered by the resolver; any other name does not exist."""
    records = {}

    def resolve(name, rdtype, lifetime=None):
        assert rdtype == "TXT"
        if name not in records:
            raise dns.resolver.NXDOMAIN()
        return [SimpleNamespace(strings=(value.encode(),)) for value in records[name]]

    monkeypatch.setattr(dns.resolver, "resolve", resolve)
    return records


@pytest.mark.parametrize("text, reason", [
    ("localhost", "platform's own"), ("evil.localhost", "platform's own"),
    ("127.0.0.1", "platform.s own|such as"), ("10.1.2.3", "such as www.example.org"),
    ("intranet", "such as www.example.org"),
    ("a..b.org", "not a valid domain name"), ("-a.example.org", "such as www.example.org"),
    ("exa mple.org", "such as www.example.org"),
])
def test_bad_and_platform_domains_are_refused(text, reason):
    with pytest.raises(DomainError, match=reason):
        clean_domain(text)


def test_the_platforms_own_host_names_are_refused(settings):
    settings.ALLOWED_HOSTS = ["herocool.example.com"]
    settings.SITES_URL_TEMPLATE = "https://{host}.usersites.example.net/"
    for name in ("herocool.example.com", "x.herocool.example.com", "usersites.example.net",
                 "alice.usersites.example.net"):
        with pytest.raises(DomainError, match="platform's own"):
            clean_domain(name)
    assert clean_domain("WWW.Example.ORG.") == "www.example.org"
    assert clean_domain("bücher.example") == "xn--bcher-kva.example"


def add(client, site, name):
    return client.post(reverse("sites-domain-add", args=[site.code]), {"domain": name},
                       follow=True)


def verify(client, site, name):
    return client.post(reverse("sites-domain-verify", args=[site.code]), {"domain": name},
                       follow=True)


def check_queued(queue):
    """Run the one queued domain check here (the resolver stub applies in this process)."""
    from sites.domains import check_domain

    [job] = queue.get_jobs()
    assert job.func is check_domain
    queue.remove(job)
    return check_domain(*job.args)


@pytest.mark.django_db
def test_a_domain_is_verified_only_by_its_txt_record(alice_client, alice, dns_records,
                                                     queue):
    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    page = add(alice_client, site, "www.alice.example").content.decode()
    claim = site.domains.get()
    assert claim.record_name in page and claim.record_value in page
    dns_records[claim.record_name] = ["something-else"]
    page = verify(alice_client, site, "www.alice.example").content.decode()
    assert "checking…" in page and "Check now" not in page  # the request asked no DNS
    claim.refresh_from_db()
    assert claim.checked_at is None and claim.check_queued_at is not None
    assert "No TXT record" in check_queued(queue)
    page = alice_client.get(site.get_absolute_url()).content.decode()
    assert "No TXT record" in page and "checking…" not in page
    claim.refresh_from_db()
    assert claim.verified_at is None and claim.checked_at is not None
    dns_records[claim.record_name] = ["v=spf1", claim.record_value]
    verify(alice_client, site, "www.alice.example")
    assert check_queued(queue) == "verified"
    claim.refresh_from_db()
    assert claim.verified_at is not None
    deployment = site.deployments.get()  # publishing it on the site's host
    assert (deployment.action, deployment.requested_by) == ("update", alice)


@pytest.mark.django_db
def test_a_check_under_way_is_not_queued_twice(alice_client, alice, queue):
    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    claim = SiteDomain.objects.create(site=site, name="www.alice.example")
    verify(alice_client, site, claim.name)
    page = verify(alice_client, site, claim.name).content.decode()
    assert "is under way" in page and queue.count == 1


@pytest.mark.django_db
def test_checks_are_rate_limited_per_user(alice_client, alice, bob, client, queue,
                                          settings):
    from herocool_project import redisconn

    redisconn.connection().delete(f"herocool:rate:domain-check:{alice.pk}",
                                  f"herocool:rate:domain-check:{bob.pk}")
    settings.RATE_LIMIT_DOMAIN_CHECKS = "2/300"
    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    claims = [SiteDomain.objects.create(site=site, name=f"d{i}.alice.example")
              for i in range(3)]
    for claim in claims[:2]:
        verify(alice_client, site, claim.name)
    page = verify(alice_client, site, claims[2].name).content.decode()
    assert "You may check domains 2 times in 300 seconds" in page
    assert queue.count == 2
    claims[2].refresh_from_db()
    assert claims[2].check_queued_at is None
    bobs = Site.objects.create(owner=bob, name="b", status="live", target="local")
    client.force_login(bob)
    verify(client, bobs, SiteDomain.objects.create(site=bobs, name="bob.example").name)
    assert queue.count == 3  # another user's checks are counted apart


@pytest.mark.django_db
def test_a_dns_timeout_is_recorded_as_the_checks_answer(alice, monkeypatch):
    import dns.exception

    from sites.domains import check_domain

    def slow(name, rdtype, lifetime=None):
        raise dns.exception.Timeout()

    monkeypatch.setattr(dns.resolver, "resolve", slow)
    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    claim = SiteDomain.objects.create(site=site, name="www.alice.example")
    assert "timed out" in check_domain(claim.pk, alice.pk)
    claim.refresh_from_db()
    assert "timed out" in claim.last_error and claim.checked_at is not None


@pytest.mark.django_db
def test_a_lost_check_stops_saying_checking(alice, queue):
    from datetime import timedelta

    from django.utils import timezone

    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    claim = SiteDomain.objects.create(site=site, name="www.alice.example")
    assert claim.queue_check()
    claim.refresh_from_db()
    assert claim.checking and not claim.queue_check()
    SiteDomain.objects.filter(pk=claim.pk).update(
        check_queued_at=timezone.now() - timedelta(minutes=3))
    claim.refresh_from_db()
    assert not claim.checking and claim.queue_check()


@pytest.mark.django_db
def test_two_users_can_never_hold_the_same_domain(client, alice, bob, dns_records):
    alices = Site.objects.create(owner=alice, name="a", status="live", target="local")
    bobs = Site.objects.create(owner=bob, name="b", status="live", target="local")
    a = SiteDomain.objects.create(site=alices, name="shared.example")
    b = SiteDomain.objects.create(site=bobs, name="shared.example")  # a pending claim
    dns_records[a.record_name] = [a.record_value, b.record_value]
    a.verify()
    with pytest.raises(DomainError, match="already in use by another site"):
        b.verify()
    b.refresh_from_db()
    assert b.verified_at is None
    client.force_login(bob)
    page = add(client, bobs, "other.example").content.decode()
    assert "Add the TXT record" in page
    page = add(client, Site.objects.create(owner=bob, name="c", status="live",
                                           target="local"), "shared.example")
    assert "already in use by another site" in page.content.decode()


@pytest.mark.django_db
def test_a_stranger_cannot_touch_a_sites_domains(client, alice, bob):
    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    SiteDomain.objects.create(site=site, name="www.alice.example")
    client.force_login(bob)
    for name in ("sites-domain-add", "sites-domain-verify", "sites-domain-remove"):
        response = client.post(reverse(name, args=[site.code]),
                               {"domain": "www.alice.example"})
        assert response.status_code == 404, name
    assert site.domains.count() == 1


def get(port, host, path="/"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    result = response.status, response.read().decode()
    conn.close()
    return result


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_verified_domain_serves_the_site_until_removed(live_site, alice_client, origin,
                                                         run_jobs, dns_records):
    assert get(origin, "www.alice.example")[0] == 404
    add(alice_client, live_site, "www.alice.example")
    claim = live_site.domains.get()
    dns_records[claim.record_name] = [claim.record_value]
    verify(alice_client, live_site, "www.alice.example")  # a job on the default queue
    run_jobs()  # the check, then (same burst) the deployment it asked for
    claim.refresh_from_db()
    assert claim.verified_at is not None
    assert live_site.deployments.filter(action="update", status="succeeded").count() == 1
    live_site.refresh_from_db()
    assert live_site.status == "live", live_site.last_error
    assert get(origin, "www.alice.example:8001") == (200, "<p>one</p>")
    assert live_site.releases.count() == 1  # the same files: no new release

    alice_client.post(reverse("sites-domain-remove", args=[live_site.code]),
                      {"domain": "www.alice.example"})
    assert run_jobs() == 1
    assert get(origin, "www.alice.example")[0] == 404
    assert get(origin, f"{live_site.host_label}.localhost") == (200, "<p>one</p>")


@pytest.mark.django_db
def test_a_deleted_site_lets_its_domain_go(alice, bob, dns_records):
    from stacks.models import Deployment

    site = Site.objects.create(owner=alice, name="s", status="live", target="local")
    claim = SiteDomain.objects.create(site=site, name="www.freed.example")
    dns_records[claim.record_name] = [claim.record_value]
    claim.verify()
    destroy = Deployment.objects.create(resource=site, owner=alice, action="destroy",
                                        stack_name=site.stack_name, status="succeeded")
    site.deployed(destroy)
    bobs = Site.objects.create(owner=bob, name="b", status="live", target="local")
    again = SiteDomain.objects.create(site=bobs, name="www.freed.example")
    dns_records[again.record_name] = [again.record_value]
    again.verify()
    assert again.verified_at is not None
