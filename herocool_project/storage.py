"""Static files as whitenoise serves them in production: hashed names, compressed."""
from whitenoise.storage import CompressedManifestStaticFilesStorage


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
