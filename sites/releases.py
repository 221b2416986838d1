"""A site's releases: what each successful deployment published, kept to compare and to
roll back to; and the uploaded archives they were made from.

An uploaded archive is kept in the database (SiteArchive), not in a file: the web
request that receives it and the worker that unpacks it may run on different machines
(a local-target site's jobs run on its own host), and the database is what both share.
"""
import hashlib
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# An archive uploaded this recently may belong to a deployment still queued: kept.
ARCHIVE_GRACE = timedelta(hours=1)


class SiteArchive(models.Model):
    """An uploaded .zip / .tar.gz, by its SHA-256, for the site with that code."""

    site_code = models.UUIDField()  # the site's code: known before its row is saved
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    used = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site_code", "sha256"],
                                               name="one_archive_per_site_and_hash")]

    def __str__(self):
        return f"{self.sha256[:12]} ({self.size} bytes)"

    @classmethod
    def keep(cls, site_code, data):
        """Store an upload (once per site and content); returns its hash."""
        sha256 = hashlib.sha256(data).hexdigest()
        cls.objects.update_or_create(site_code=site_code, sha256=sha256,
                                     defaults={"used": timezone.now()},
                                     create_defaults={"data": data, "size": len(data),
                                                      "used": timezone.now()})
        return sha256

    @classmethod
    def bytes_kept_for(cls, site):
        """What the archives of the sites of `site`'s quota owner take in the database: a
        team's sites count to the team, a personal site's to its owner's personal ones
        (a team is one owner, as for every quota: Resource.owner_filter)."""
        from .models import Site

        theirs = Site.objects.filter(**site.owner_filter()).values("code")
        return cls.objects.filter(site_code__in=theirs).aggregate(
            total=models.Sum("size"))["total"] or 0

    @classmethod
    def data_of(cls, site_code, sha256):
        row = cls.objects.filter(site_code=site_code, sha256=sha256).first()
        return None if row is None else bytes(row.data)


class Release(models.Model):
    """What one successful deployment of a site published. Never changed once written."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="releases")
    number = models.PositiveIntegerField()  # v1, v2, ... per site
    deployment = models.OneToOneField("stacks.Deployment", null=True,
                                      on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    # Its source, as the site's own fields had it: enough to publish it again.
    source = models.CharField(max_length=10)
    source_url = models.URLField(max_length=2000, blank=True)
    content = models.TextField(blank=True)  # the page, when the source is one page
    archive = models.CharField(max_length=64, blank=True)  # SiteArchive.sha256
    content_hash = models.CharField(max_length=64)  # archive.tree_hash of its files
    files = models.JSONField(default=dict)  # {path: [size, sha256]}
    total_bytes = models.BigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    rollback_of = models.PositiveIntegerField(null=True, blank=True)  # the number restored

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["site", "number"],
                                               name="one_release_number_per_site")]

    def __str__(self):
        return f"{self.site} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A release is never changed once recorded.")
        super().save(*args, **kwargs)

    @property
    def short_hash(self):
        return self.content_hash[:12]

    def rollback_params(self):
        """An update's params that publish this release again: the site's source fields
        as they were, and the release they restore (its job fetches nothing)."""
        return {"source": self.source, "source_url": self.source_url,
                "content": self.content, "archive": self.archive, "release": str(self.code)}

    def get_source_display(self):
        return dict(self.site.Source.choices).get(self.source, self.source)

    @classmethod
    def record(cls, site, deployment, tree):
        """The release a successful create or update of `site` published."""
        last = cls.objects.filter(site=site).order_by("-number").first()
        back_to = deployment.params.get("release")
        restored = cls.objects.filter(site=site, code=back_to).first() if back_to else None
        return cls.objects.create(
            site=site, number=(last.number + 1) if last else 1, deployment=deployment,
            created_by=deployment.requested_by, source=site.source,
            source_url=site.source_url, content=site.content if not site.archive else "",
            archive=site.archive, content_hash=tree.content_hash,
            files={path: list(entry) for path, entry in tree.manifest.items()},
            total_bytes=sum(size for size, _ in tree.manifest.values()),
            file_count=len(tree.manifest),
            rollback_of=restored.number if restored else None)

    @classmethod
    def prune(cls, site, keep):
        """Keep the newest `keep` releases (the live one, the newest, always); drop the
        archives no kept release or queued upload needs. Returns how many were removed."""
        kept = list(cls.objects.filter(site=site).order_by("-number")[:max(keep, 1)])
        old = cls.objects.filter(site=site).exclude(pk__in=[r.pk for r in kept])
        removed = old.delete()[0]
        needed = {r.archive for r in kept} | {site.archive}
        SiteArchive.objects.filter(site_code=site.code,
                                   used__lt=timezone.now() - ARCHIVE_GRACE).exclude(
            sha256__in=needed).delete()
        return removed


def live_release(site):
    """The release a live site serves: its newest (every success records one)."""
    if site.is_deleted:
        return None
    return site.releases.order_by("-number").only("pk", "number").first()


def roll_back(site, release, user):
    """Publish `release` of `site` again: an ordinary update deployment, with its log
    (the pages and the API). Raises DeploymentRefused (the live one already, or the
    deployment's own refusals)."""
    from stacks.models import Deployment
    from stacks.services import DeploymentRefused, request_deployment

    live = live_release(site)
    if live is not None and live.pk == release.pk:
        raise DeploymentRefused(f"v{release.number} is the live release already.")
    return request_deployment(site, Deployment.Action.UPDATE, user,
                              params=release.rollback_params())


def diff(older, newer):
    """(added, removed, changed) paths from release `older` to release `newer`."""
    before, after = older.files, newer.files
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p][1] != after[p][1])
    return added, removed, changed
