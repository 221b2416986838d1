"""Forms for creating and updating sites, with errors a user can act on."""
from django import forms
from django.conf import settings

from herocool_project.form_renderer import RENDERER
from herocool_project.forms import StyledFormMixin
from herocool_project.sizes import exact_bytes
from stacks.expiry import ExpiryFieldsMixin
from stacks.models import Status
from stacks.services import DeploymentRefused, lock_quotas

from .archive import ArchiveError, unpack
from .domains import DomainError, clean_domain
from .fetch import FetchError, check_url
from .models import Site, SiteArchive, SiteDomain
from .picked import archive_of
from .tree import limits

TEXT_UPLOAD_TYPES = ("text/html", "text/plain", "application/xhtml+xml", "")
# The input of each source, where it is not named as the source.
INPUT_OF_SOURCE = {Site.Source.ARCHIVE: "folder"}
# Room the rest of the form takes in the request beside the picked files.
PICKED_HEADROOM = 64 * 1024


class FolderInput(forms.FileInput):
    """A folder picker: every file under the chosen folder, in one input. It carries the
    most the front door takes in one request and the most files, so static/js/folder.js
    can refuse a folder past them on the page, before a 25 MB upload ends in a 413."""
    allow_multiple_selected = True

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].update({
            "data-max-bytes": settings.REQUEST_MAX_BYTES_SITE_FORM - PICKED_HEADROOM,
            "data-max-files": settings.SITE_MAX_FILES})
        return context


class FolderField(forms.FileField):
    """The picked folder's files as a list (empty ones too: a folder may hold them)."""

    def __init__(self, **kwargs):
        super().__init__(widget=FolderInput(attrs={"webkitdirectory": True,
                                                   "multiple": True,
                                                   "data-folder-picker": "picked_paths"}),
                         allow_empty_file=True, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        return [super(FolderField, self).clean(one, initial) for one in files]


class SiteContentForm(StyledFormMixin, forms.ModelForm):
    """Where the page comes from: pasted HTML, an uploaded file, or a URL."""

    default_renderer = RENDERER
    html = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), required=False,
                           strip=False, label="HTML")
    upload = forms.FileField(required=False, label="File (.html)")
    url = forms.CharField(required=False, max_length=2000, label="URL")
    folder = forms.FileField(required=False, label="Folder (.zip or .tar.gz)",
                             help_text="Your site's folder, packed: index.html at its top "
                                       "(or inside one top folder), beside CSS, scripts, "
                                       "images and an optional 404.html.")
    picked = FolderField(required=False, label="Or pick the folder itself",
                         help_text="Your browser sends every file under it, with its "
                                   "place in the folder.")
    # aws target only (removed otherwise): served over HTTPS once its certificate is issued.
    domain = forms.CharField(required=False, max_length=253, label="Custom domain (optional)",
                             help_text="e.g. www.example.org. The site's page then shows "
                                       "the DNS records to add at your DNS provider.")

    class Meta:
        model = Site
        fields = ["source"]
        widgets = {"source": forms.RadioSelect}

    def __init__(self, *args, owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        # Which source each input belongs to: the page shows only the chosen one's.
        for source in Site.Source.values:
            self.fields[INPUT_OF_SOURCE.get(source, source)].source = source
        self.fields["picked"].source = Site.Source.ARCHIVE
        if (self.instance.target or settings.HEROCOOL_TARGET) != "aws":
            del self.fields["domain"]  # the local target's domains are claims (domains.py)
        else:
            self.fields["domain"].initial = self.instance.custom_domain
        if self.instance.pk:
            self.fields["html"].initial = self.instance.content
            self.fields["url"].initial = self.instance.source_url

    def clean_domain(self):
        text = self.cleaned_data.get("domain", "").strip()
        try:
            name = clean_domain(text) if text else ""
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from None
        taken = Site.objects.filter(custom_domain=name).exclude(status=Status.DELETED) \
            .exclude(pk=self.instance.pk)
        if name and (taken.exists() or SiteDomain.objects.filter(name=name).exclude(
                verified_at=None).exists()):
            raise forms.ValidationError(f"{name} is already in use by another site.")
        self.instance.custom_domain = name
        return name

    def clean(self):
        data = super().clean()
        source = data.get("source")
        clean_source = {
            Site.Source.HTML: self._clean_html,
            Site.Source.UPLOAD: self._clean_upload,
            Site.Source.URL: self._clean_url,
            Site.Source.ARCHIVE: self._clean_folder,
        }.get(source)
        if clean_source:
            clean_source(data)
        return data

    def _too_big(self, size):
        return f"The page is {exact_bytes(size)}; the limit is " \
               f"{exact_bytes(settings.SITE_MAX_BYTES)}."

    def _clean_html(self, data):
        html = data.get("html", "")
        if not html.strip():
            self.add_error("html", "Paste the HTML of your page.")
        elif len(html.encode()) > settings.SITE_MAX_BYTES:
            self.add_error("html", self._too_big(len(html.encode())))
        else:
            self.instance.content, self.instance.source_url = html, ""
            self.instance.archive = ""

    def _clean_upload(self, data):
        upload = data.get("upload")
        if not upload:
            self.add_error("upload", "Choose an HTML file to upload.")
            return
        if upload.size > settings.SITE_MAX_BYTES:
            self.add_error("upload", self._too_big(upload.size))
            return
        if (upload.content_type or "").split(";")[0] not in TEXT_UPLOAD_TYPES:
            self.add_error("upload", "Upload an HTML or plain text file.")
            return
        try:
            self.instance.content = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            self.add_error("upload", "The file is not UTF-8 text.")
            return
        self.instance.source_url, self.instance.archive = "", ""

    def _clean_url(self, data):
        url = (data.get("url") or "").strip()
        try:
            check_url(url)
        except FetchError as exc:
            self.add_error("url", str(exc))
            return
        # Fetched later by the deployment job, never in this request.
        self.instance.source_url, self.instance.content = url, ""
        self.instance.archive = ""

    _folder_data = None

    def _clean_folder(self, data):
        """Checked whole here (nothing written), so every refusal is a form error. A
        picked folder becomes the archive an upload of it would be (sites/picked.py)."""
        upload, picked = data.get("folder"), data.get("picked")
        if not upload and picked:
            try:
                self._check_archive("picked", archive_of(
                    picked, self.data.get("picked_paths", ""), limits()))
            except ArchiveError as exc:
                self.add_error("picked", str(exc))
            return
        if not upload:
            self.add_error("folder", "Choose a .zip or .tar.gz of your site's folder, or "
                           "pick the folder itself.")
            return
        if upload.size > settings.SITE_ARCHIVE_MAX_BYTES:
            self.add_error("folder", f"The archive is {exact_bytes(upload.size)}; the "
                           f"limit is {exact_bytes(settings.SITE_ARCHIVE_MAX_BYTES)}.")
            return
        self._check_archive("folder", upload.read())

    def _check_archive(self, field, folder):
        if problem := self._archive_quota_problem(len(folder)):
            self.add_error(field, problem)
            return
        try:
            files = unpack(folder, limits())
        except ArchiveError as exc:
            self.add_error(field, str(exc))
            return
        if "index.html" not in files:
            self.add_error(field, f"The {'folder' if field == 'picked' else 'archive'} "
                           "has no index.html at its top (or inside its one top folder).")
            return
        self._folder_data = folder
        self.instance.content, self.instance.source_url = "", ""

    def _quota_holder(self):
        """The site whose quota owner the archive counts to: this one, or for a new one
        its team (the Owner field) or else its creator."""
        if self.instance.pk:
            return self.instance
        return Site(owner=self.owner, team=self.cleaned_data.get("team"))

    def _archive_quota_problem(self, size):
        holder = self._quota_holder()
        kept = SiteArchive.bytes_kept_for(holder)
        if kept + size <= settings.QUOTA_SITE_ARCHIVE_BYTES:
            return ""
        whose = (f"The team {holder.team}'s sites' archives", "its") if holder.team_id \
            else ("Your sites' archives", "your")
        return (f"{whose[0]} already take {exact_bytes(kept)} of {whose[1]} "
                f"{exact_bytes(settings.QUOTA_SITE_ARCHIVE_BYTES)}; delete a site you no "
                "longer need (older releases are dropped as new ones come).")

    def save(self, commit=True):
        """The archive is kept with the site (in the caller's transaction), after its
        quota is checked again under the owner's quota lock, as request_deployment's
        are: two uploads at once cannot both pass (DeploymentRefused)."""
        if self._folder_data is not None:
            lock_quotas(self._quota_holder())
            if problem := self._archive_quota_problem(len(self._folder_data)):
                raise DeploymentRefused(problem)
            self.instance.archive = SiteArchive.keep(self.instance.code, self._folder_data)
        return super().save(commit)


class SiteCreateForm(ExpiryFieldsMixin, SiteContentForm):
    class Meta(SiteContentForm.Meta):
        fields = ["name", "source"]
        help_texts = {"name": "Lowercase letters, digits and hyphens, e.g. my-site."}

    def clean_name(self):
        name = self.cleaned_data["name"]
        team = self.cleaned_data.get("team")  # issue #18: the Owner field, before it
        if Site.alive_of(self.owner, team).filter(name=name).exists():
            raise forms.ValidationError(Site.taken_message(team, "site", name))
        return name
