"""A site's own domain on the local target: claimed, proved by a TXT record, then served.

A user adds a domain to a site and is shown a TXT record to publish at
`_herocool-challenge.<domain>`; checking it is a real DNS query. A claim is only a claim
once verified: anyone may start one (so nobody can squat a domain they do not control),
but the database lets only one verified claim per domain exist, whoever makes it. Names
under the platform's own host names are refused outright. Once verified, the site's next
deployment (started at once) publishes the name on the site's host, where the sites
origin serves the site for that Host (sites/programs/local_provider.py).
"""
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

log = logging.getLogger(__name__)

CHALLENGE = "_herocool-challenge"
LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
DNS_TIMEOUT = 4  # seconds for the whole query (in a job of the `default` queue)
# A check queued longer ago than this without an answer is taken for lost (a worker
# died): the page stops saying "checking" and offers the check again.
CHECK_LOST_AFTER = timedelta(minutes=2)


class DomainError(Exception):
    """Why a domain cannot be added or verified; the message is for the user."""


def _token():
    return secrets.token_urlsafe(24)


class SiteDomain(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=253)  # lowercase, IDNA (xn--) form
    token = models.CharField(max_length=64, default=_token, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # When its owner last asked for a check (the job answers with checked_at).
    check_queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="one_claim_per_site"),
            # Two users can never both hold a domain: one verified claim per name.
            models.UniqueConstraint(fields=["name"], condition=Q(verified_at__isnull=False),
                                    name="one_verified_claim_per_domain"),
        ]

    def __str__(self):
        return self.name

    @property
    def record_name(self):
        return f"{CHALLENGE}.{self.name}"

    @property
    def record_value(self):
        return f"herocool-site-verification={self.token}"

    @property
    def checking(self):
        """A check is queued and not answered yet (nor lost)."""
        queued = self.check_queued_at
        return queued is not None and self.verified_at is None and \
            (self.checked_at is None or self.checked_at < queued) and \
            timezone.now() - queued < CHECK_LOST_AFTER

    def queue_check(self):
        """Mark a check asked for (a conditional update: not for a verified claim, nor
        while one is already on its way); False if there is nothing to queue."""
        now = timezone.now()
        waiting = Q(check_queued_at__gt=now - CHECK_LOST_AFTER) & (
            Q(checked_at=None) | Q(checked_at__lt=models.F("check_queued_at")))
        return bool(SiteDomain.objects.filter(pk=self.pk, verified_at=None)
                    .exclude(waiting).update(check_queued_at=now))

    def verify(self, lookup=None):
        """Query DNS for the TXT record; on success mark the claim verified (a
        conditional update, so a concurrent second verification cannot double it).
        Every outcome is recorded (checked_at, last_error). Raises DomainError with what
        the user should fix."""
        try:
            found = (lookup or txt_records)(self.record_name)
        except DomainError as exc:
            self._record_failure(str(exc))
            raise
        if self.record_value not in found:
            self._record_failure(
                f"No TXT record {self.record_value} at {self.record_name} yet (found "
                f"{len(found)} other record(s)). DNS changes can take a few minutes to show.")
        now = timezone.now()
        try:
            with transaction.atomic():
                SiteDomain.objects.filter(pk=self.pk, verified_at=None).update(
                    verified_at=now, checked_at=now, last_error="")
        except IntegrityError:
            self._record_failure(f"{self.name} is already in use by another site.")
        self.verified_at = now

    def _record_failure(self, error):
        SiteDomain.objects.filter(pk=self.pk).update(checked_at=timezone.now(),
                                                     last_error=error[:300])
        raise DomainError(error)


def txt_records(name):
    """The strings of the TXT records at `name` ([] when there are none)."""
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=DNS_TIMEOUT)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        return []
    except dns.exception.Timeout:
        raise DomainError(f"The DNS query for {name} timed out; try again.") from None
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def clean_domain(text):
    """The domain as stored (lowercase IDNA), or DomainError saying what is wrong."""
    name = text.strip().lower().rstrip(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise DomainError("That is not a valid domain name.") from None
    for own in platform_domains():
        if name == own or name.endswith("." + own):
            raise DomainError(f"{name} is one of the platform's own host names.")
    labels = name.split(".")
    if len(labels) < 2 or len(name) > 253 or not all(LABEL.fullmatch(x) for x in labels) \
            or labels[-1].isdigit():
        raise DomainError("Enter a domain name such as www.example.org.")
    return name


def platform_domains():
    """Names the platform itself answers for: its web hosts, its sites origin's domain."""
    names = {"localhost"}
    for host in settings.ALLOWED_HOSTS:
        host = host.strip().lower().lstrip(".").rstrip(".")
        if host and host != "*" and not host.startswith("["):
            names.add(host)
    origin = settings.SITES_URL_TEMPLATE.split("//", 1)[-1].split("/", 1)[0]
    origin = origin.split(":", 1)[0].removeprefix("{host}.")
    if origin and "{" not in origin:
        names.add(origin.lower())
    return names


def add(site, text):
    """A new (unverified) claim of the domain for the site."""
    name = clean_domain(text)
    if site.domains.filter(name=name).exists():
        raise DomainError(f"{name} is already added to this site.")
    if SiteDomain.objects.filter(name=name).exclude(verified_at=None).exists():
        raise DomainError(f"{name} is already in use by another site.")
    try:
        with transaction.atomic():
            return SiteDomain.objects.create(site=site, name=name)
    except IntegrityError:
        raise DomainError(f"{name} is already added to this site.") from None


def check_domain(domain_id, user_id):
    """The job behind "Check now": query the claim's TXT record and record the answer;
    once verified, publish the domain with a deployment of the site (requested by the
    user who asked). Returns what it found, for the job's record."""
    from django.contrib.auth import get_user_model

    from stacks.models import Deployment
    from stacks.services import DeploymentRefused, request_deployment

    claim = SiteDomain.objects.select_related("site").filter(pk=domain_id).first()
    if claim is None or claim.verified_at is not None:
        return "gone or verified already"
    try:
        claim.verify()
    except DomainError as exc:
        return str(exc)
    user = get_user_model().objects.filter(pk=user_id).first() or claim.site.owner
    try:
        request_deployment(claim.site, Deployment.Action.UPDATE, user, params={})
    except DeploymentRefused as exc:  # verified all the same; the next deployment serves it
        log.info("domain %s verified; its publishing deployment was refused: %s",
                 claim.name, exc)
    return "verified"
