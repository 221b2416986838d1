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
    change_fields = ("source", "source_url", "content", "archive", "custom_domain")
    list_deferred = ("content", "source_url", "last_error")

    class Source(models.TextChoices):
        HTML = "html", "Paste HTML"
        UPLOAD = "upload", "Upload a file"
        URL = "url", "Fetch from a URL"
        ARCHIVE = "archive", "Upload a folder (.zip or .tar.gz)"

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.HTML)
    source_url = models.URLField(max_length=2000, blank=True)
    content = models.TextField(blank=True)
    # The host label of its URL (sites/address.py): set once at creation, never reused.
    # Empty (null) only for rows made without save(), such as bulk loads: those are
    # published under their stack name, which never contains the labels' "--".
    address_label = models.CharField(max_length=63, unique=True, null=True, editable=False)
    # The SHA-256 of its uploaded archive (sites/releases.py: SiteArchive), when a folder.
    # A database default too: rows written by raw SQL (bench/bigdata.py) need none.
    archive = models.CharField(max_length=64, blank=True, default="", db_default="")
    # aws target: its own domain (lowercase IDNA), served by its CloudFront distribution
    # once the ACM certificate is issued (programs/aws.py). The local target keeps its
    # domains as claims proved by TXT (SiteDomain).
    custom_domain = models.CharField(max_length=253, blank=True, default="", db_default="")

    class Meta(StackResource.Meta):
        constraints = [
            # Issue #18: unique among an owner's personal ones, or among a team's.
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=~Q(status=Status.DELETED) & Q(team=None),
                name="site_name_unique_per_owner",
            ),
            models.UniqueConstraint(
                fields=["team", "name"],
                condition=~Q(status=Status.DELETED) & Q(team__isnull=False),
                name="site_name_unique_per_team",
            ),
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

    # The files its deployment job staged (sites/tree.py), set by prepare().
    tree = None

    def spec(self):
        tree = self.tree
        return SiteSpec(
            stack_name=self.stack_name, owner=self.owner.username, label=self.host_label,
            index_html=self.content if self.source != self.Source.ARCHIVE else "",
            files_dir=tree.folder if tree else "",
            content_hash=tree.content_hash if tree else self.outputs.get("content_hash", ""),
            files=tuple(sorted((p, size) for p, (size, _) in tree.manifest.items()))
            if tree else (),
            keep_releases=settings.SITES_KEEP_RELEASES,
            changed=self._changed_since_live() if self.target == "aws" else (),
            domains=tuple(self.domains.exclude(verified_at=None).order_by("name")
                          .values_list("name", flat=True)) if self.pk else (),
            **self._aws_domain())

    def _aws_domain(self):
        """The aws program's custom domain, the operator's Route 53 zone that validates
        its certificate, and whether the certificate of that same domain was issued
        (read from the outputs synced after the last deployment or drift check)."""
        if self.target != "aws" or not self.custom_domain:
            return {}
        validation = self.outputs.get("certificate_validation") or {}
        issued = self.outputs.get("certificate_status") == "ISSUED" and \
            self.outputs.get("certificate_domain") == self.custom_domain
        return {"domain": self.custom_domain, "certificate_issued": issued and
                bool(validation),
                "hosted_zone_id": settings.SITES_AWS_HOSTED_ZONE_ID}

    @property
    def domain_setup(self):
        """What the page shows an aws site's owner to do at their DNS provider, from the
        synced outputs: None once the domain is served (or there is none)."""
        if self.target != "aws" or not self.custom_domain:
            return None
        out = self.outputs
        if out.get("certificate_domain") != self.custom_domain:
            return {"pending": True}  # its deployment has not run yet
        if out.get("custom_domain_served") and out.get("certificate_status") == "ISSUED":
            return None
        return {"pending": False, "validation": out.get("certificate_validation") or {},
                "issued": out.get("certificate_status") == "ISSUED",
                "cdn_domain": out.get("cdn_domain", ""),
                "route53": bool(settings.SITES_AWS_HOSTED_ZONE_ID)}

    def _changed_since_live(self):
        """Paths added, changed or removed since the release live now (for the CDN)."""
        if self.tree is None:
            return ()
        live = self.releases.order_by("-number").only("files").first()
        before = live.files if live else {}
        now = self.tree.manifest
        changed = {p for p, (_, digest) in now.items() if before.get(p, [0, ""])[1] != digest}
        return tuple(sorted(changed | (set(before) - set(now)))) if before else ()

    def program(self):
        if self.target == "aws":
            from .programs import aws

            return aws.program(self.spec())
        from .programs import local

        # Run by a worker of the site's host: its files and its URL are that host's.
        return local.program(self.spec(), sites_root=settings.SITES_ROOT,
                             url_template=settings.SITES_URL_TEMPLATE)

    def quota_problem(self):
        mine = Site.objects.filter(**self.owner_filter()).exclude(status=Status.DELETED)
        if mine.count() > settings.QUOTA_SITES:
            who = f"The team {self.team} has reached its" if self.team_id else \
                "You have reached your"
            return f"{who} limit of {settings.QUOTA_SITES} sites; delete one first."
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
        """The files of the release to publish, staged on this host: a URL fetched (here,
        in the job, never in the web request), an archive unpacked, a page written. A
        rollback to a release still on this host stages nothing."""
        from . import tree

        code = deployment.params.get("release")
        restoring = Release.objects.filter(site=self, code=code).first() if code else None
        if restoring is not None:
            say("Rolling back to release v%d (%s)", restoring.number, restoring.short_hash)
            if tree.published(self, restoring.content_hash):
                self.tree = tree.Tree("", {p: tuple(v) for p, v in restoring.files.items()})
                say("Its files are still on this host: publishing them again.")
                return
        elif self.source == self.Source.URL and (deployment.action == "create" or
                                                 self._source_changed(deployment)):
            self._fetch(say)  # not for a redeploy of the same source (domains changed)
        self._stage(say)

    def _fetch(self, say):
        from .fetch import FetchError, fetch_page

        try:
            page = fetch_page(self.source_url, max_bytes=settings.SITE_MAX_BYTES,
                              timeout=settings.SITE_FETCH_TIMEOUT)
        except FetchError as exc:
            raise PrepareError(f"Fetching the page failed. {exc}") from exc
        self.content = page.content  # saved with the outcome if the deployment succeeds
        say("Fetched %d characters from %s", len(page.content), page.final_url)

    def _stage(self, say):
        from . import tree

        data = None
        if self.source == self.Source.ARCHIVE:
            data = SiteArchive.data_of(self.code, self.archive)
            if data is None:
                raise PrepareError("The uploaded archive is no longer kept; upload it again.")
        try:
            self.tree = tree.stage(self, data)
        except tree.StageError as exc:
            raise PrepareError(str(exc)) from exc
        sizes = [size for size, _ in self.tree.manifest.values()]
        say("Staged %d files, %d bytes; content %s", len(sizes), sum(sizes),
            self.tree.content_hash[:12])

    def mark_failed(self, error):
        """A failed deployment of a cloud site leaves no staged files on this worker (they
        waited for the site's next deployment); the local target's next one clears its
        own, on the host that publishes them."""
        from . import tree

        if self.target != "local":
            tree.discard(self.tree)
        return super().mark_failed(error)

    def _source_changed(self, deployment):
        return any(name in deployment.params for name in self.change_fields)

    def deployed(self, deployment):
        """A successful create or update is recorded as a release (older ones pruned);
        a destroy drops the uploaded archives and domain claims (the releases stay, as
        history)."""
        from . import tree

        if deployment.action == "destroy":
            SiteArchive.objects.filter(site_code=self.code).delete()
            self.domains.all().delete()  # a deleted site holds no domain
            return
        if self.tree is None or deployment.action not in ("create", "update"):
            return
        if self.target != "local":
            tree.discard(self.tree)  # uploaded; the release keeps only its file list
        last = self.releases.order_by("-number").only("content_hash").first()
        if last and last.content_hash == self.tree.content_hash and \
                "release" not in deployment.params:
            return  # the same files again (a domain published, a move): no new release
        Release.record(self, deployment, self.tree)
        Release.prune(self, settings.SITES_KEEP_RELEASES)


def sites_per_host(hosts, *, excluding=None):
    """{host id: sites on it that are not deleted}, leaving out the site `excluding`."""
    rows = (Site.objects.filter(host__in=hosts).exclude(status=Status.DELETED)
            .exclude(pk=excluding).values("host").annotate(n=Count("id")).order_by())
    return {row["host"]: row["n"] for row in rows}


# Models of this app, defined with their logic (and used by the methods above).
from .domains import SiteDomain  # noqa: E402,F401
from .releases import Release, SiteArchive  # noqa: E402
