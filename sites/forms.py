"""Forms for creating and updating sites, with errors a user can act on."""
from django import forms
from django.conf import settings

from herocool_project.form_renderer import RENDERER
from herocool_project.forms import StyledFormMixin
from herocool_project.sizes import exact_bytes
from stacks.expiry import ExpiryFieldsMixin
from stacks.models import Status

from .archive import ArchiveError, unpack
from .fetch import FetchError, check_url
from .models import Site, SiteArchive
from .tree import limits

TEXT_UPLOAD_TYPES = ("text/html", "text/plain", "application/xhtml+xml", "")
# The input of each source, where it is not named as the source.
INPUT_OF_SOURCE = {Site.Source.ARCHIVE: "folder"}


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
        if self.instance.pk:
            self.fields["html"].initial = self.instance.content
            self.fields["url"].initial = self.instance.source_url

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
        """Checked whole here (nothing written), so every refusal is a form error."""
        upload = data.get("folder")
        if not upload:
            self.add_error("folder", "Choose a .zip or .tar.gz of your site's folder.")
            return
        if upload.size > settings.SITE_ARCHIVE_MAX_BYTES:
            self.add_error("folder", f"The archive is {exact_bytes(upload.size)}; the "
                           f"limit is {exact_bytes(settings.SITE_ARCHIVE_MAX_BYTES)}.")
            return
        kept = SiteArchive.bytes_kept_for(self.owner)
        if kept + upload.size > settings.QUOTA_SITE_ARCHIVE_BYTES:
            self.add_error("folder", f"Your sites' archives already take {exact_bytes(kept)} "
                           f"of your {exact_bytes(settings.QUOTA_SITE_ARCHIVE_BYTES)}; "
                           "delete a site you no longer need (older releases are dropped "
                           "as new ones come).")
            return
        folder = upload.read()
        try:
            files = unpack(folder, limits())
        except ArchiveError as exc:
            self.add_error("folder", str(exc))
            return
        if "index.html" not in files:
            self.add_error("folder", "The archive has no index.html at its top (or inside "
                           "its one top folder).")
            return
        self._folder_data = folder
        self.instance.content, self.instance.source_url = "", ""

    def save(self, commit=True):
        """The archive is kept with the site (in the caller's transaction)."""
        if self._folder_data is not None:
            self.instance.archive = SiteArchive.keep(self.instance.code, self._folder_data)
        return super().save(commit)


class SiteCreateForm(ExpiryFieldsMixin, SiteContentForm):
    class Meta(SiteContentForm.Meta):
        fields = ["name", "source"]
        help_texts = {"name": "Lowercase letters, digits and hyphens, e.g. my-site."}

    def clean_name(self):
        name = self.cleaned_data["name"]
        taken = Site.objects.filter(owner=self.owner, name=name).exclude(
            status=Status.DELETED)
        if taken.exists():
            raise forms.ValidationError(f"You already have a site named {name}.")
        return name
