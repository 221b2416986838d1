"""A user's static website, deployed to its own Pulumi stack."""
import shutil
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Q

from stacks.models import PrepareError, StackResource, Status
from stacks.urlcache import code_url

from . import address
from .programs.spec import SiteSpec


class Site(StackResource):
    pulumi_project = "herocool-sites"
    stack_prefix = "site"
    change_fields = ("source", "source_url", "content")
    list_deferred = ("content", "source_url", "last_error")

    class Source(models.TextChoices):
        HTML = "html", "Paste HTML"
        UPLOAD = "upload", "Upload a file"
        URL = "url", "Fetch from a URL"

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.HTML)
    source_url = models.URLField(max_length=2000, blank=True)
    content = models.TextField(blank=True)
    # The host label of its URL (sites/address.py): set once at creation, never reused.
    # Empty (null) only for rows made without save(), such as bulk loads: those are
    # published under their stack name, which never contains the labels' "--".
    address_label = models.CharField(max_length=63, unique=True, null=True, editable=False)

    class Meta(StackResource.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=~Q(status=Status.DELETED),
                name="site_name_unique_per_owner",
            )
        ]

    def get_absolute_url(self):
        return code_url("sites-detail", self.code)

    def save(self, *args, **kwargs):
        if self.pk or self.address_label:
            return super().save(*args, **kwargs)
        for candidate in address.candidates(self.name, self.owner.username):
            self.address_label = candidate
            try:
                with transaction.atomic():  # a savepoint: a taken label is not fatal
                    return super().save(*args, **kwargs)
            except IntegrityError:
                if not Site.objects.filter(address_label=candidate).exists():
                    self.address_label = None
                    raise  # another constraint: the caller's to explain
        raise IntegrityError(f"no free address for {self.name!r}")

    @property
    def host_label(self):
        """The first label of its host name, and the name of its folder of files."""
        return self.address_label or self.stack_name

    def monthly_estimate(self):
        return self.estimate_for(self.target or settings.HEROCOOL_TARGET)

    @staticmethod
    def estimate_for(target, _choice=None):
        from stacks.cost import site_estimate

        return site_estimate(target)

    @property
    def website_url(self):
        return self.outputs.get("website_url", "")

    def spec(self):
        return SiteSpec(stack_name=self.stack_name, owner=self.owner.username,
                        index_html=self.content, label=self.host_label)

    def program(self):
        if self.target == "aws":
            from .programs import aws

            return aws.program(self.spec())
        from .programs import local

        # Run by a worker of the site's host: its files and its URL are that host's.
        return local.program(self.spec(), sites_root=settings.SITES_ROOT,
                             url_template=settings.SITES_URL_TEMPLATE)

    def quota_problem(self):
        mine = Site.objects.filter(owner_id=self.owner_id).exclude(status=Status.DELETED)
        if mine.count() > settings.QUOTA_SITES:
            return (f"You have reached your limit of {settings.QUOTA_SITES} sites; delete "
                    "one first.")
        return ""

    movable = True  # its page is redeployed from the recorded source

    def forget_local(self):
        """Its published files on this host, after it moved to another (drain_host)."""
        site_dir = Path(settings.SITES_ROOT) / self.host_label
        if not site_dir.is_dir() or site_dir.is_symlink():
            return False
        shutil.rmtree(site_dir)
        return True

    def pick_host(self, hosts):
        """The host with the fewest sites, among those below their cap."""
        counts = sites_per_host(hosts, excluding=self.pk)
        roomy = [h for h in hosts if counts.get(h.pk, 0) < h.max_sites]
        return min(roomy, key=lambda h: (counts.get(h.pk, 0), h.name), default=None)

    def no_room_message(self, hosts):
        cap = sum(h.max_sites for h in hosts)
        return ("The platform is full: its machines hold as many sites as the operator "
                f"allows ({cap}). Nothing was created; try again later or ask the "
                "operator.")

    def prepare(self, deployment, say):
        """A URL source is fetched here, in the job, never in the web request."""
        if self.source != self.Source.URL:
            return
        from .fetch import FetchError, fetch_page

        try:
            page = fetch_page(self.source_url, max_bytes=settings.SITE_MAX_BYTES,
                              timeout=settings.SITE_FETCH_TIMEOUT)
        except FetchError as exc:
            raise PrepareError(f"Fetching the page failed. {exc}") from exc
        self.content = page.content  # saved with the outcome if the deployment succeeds
        say("Fetched %d characters from %s", len(page.content), page.final_url)


def sites_per_host(hosts, *, excluding=None):
    """{host id: sites on it that are not deleted}, leaving out the site `excluding`."""
    rows = (Site.objects.filter(host__in=hosts).exclude(status=Status.DELETED)
            .exclude(pk=excluding).values("host").annotate(n=Count("id")).order_by())
    return {row["host"]: row["n"] for row in rows}
