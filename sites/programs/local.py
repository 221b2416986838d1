"""The `local` target for a site: files published under the sites root, served by
`manage.py serve_sites` on an origin of their own. Outputs match the aws program's."""
import pulumi

from .local_provider import LocalSite


def program(spec, *, sites_root, url_template):
    def pulumi_program():
        site = LocalSite(
            "site",
            sites_root=sites_root,
            host=spec.host_label,
            content_hash=spec.content_hash,
            files_dir=spec.files_dir,
            keep_releases=spec.keep_releases,
            domains=list(spec.domains),
            # Only when there are no staged files: the state need not hold the page.
            index_html=spec.index_html if spec.page_only else "",
            url_template=url_template,
        )
        pulumi.export("website_url", site.website_url)
        pulumi.export("content_hash", site.content_hash)

    return pulumi_program
