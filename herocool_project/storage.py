"""Static files as whitenoise serves them in production: hashed names, compressed."""
import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

log = logging.getLogger(__name__)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Whitenoise's storage, leaving source-map comments alone: vendored files
    (Bootstrap's CSS) name maps we do not ship, and only a browser's developer tools
    ever ask for them. Every other reference must exist and gets its hashed name."""

    def url_converter(self, name, hashed_files, template=None):
        convert = super().url_converter(name, hashed_files, template)

        def converter(match):
            if "sourceMappingURL" in match["matched"]:
                return match["matched"]
            return convert(match)

        return converter

    def stored_name(self, name):
        # Without collectstatic (a process started by hand, a test's subprocess) a page
        # must still render, the 503 page first of all: its plain name, and a warning.
        # With a manifest, a name it lacks is Django's strict ValueError: whitenoise asks
        # for the name of every served file without its last suffix (is
        # `bootstrap.min.css` the hashed `bootstrap.css`?) and takes the error for "no".
        try:
            return super().stored_name(name)
        except ValueError:
            if self.hashed_files:
                raise
            log.warning("static file %s was not collected: run collectstatic", name)
            return name
