"""A whole-folder site in a real browser, a real worker doing the work: uploaded, released
again, compared, rolled back; then served for the user's own domain once its TXT record
is verified (only the DNS resolver is stubbed)."""
import http.client
import io
import zipfile
from types import SimpleNamespace

import dns.resolver
import pytest
from playwright.sync_api import expect

from .steps import sign_up, status_of, watch_deployment

FIRST = {"site/index.html": b"<h1>Folder v1</h1>", "site/css/site.css": b"h1{color:teal}",
         "site/404.html": b"<h1>Our 404</h1>"}
SECOND = {**FIRST, "site/css/site.css": b"h1{color:red}", "site/about.html": b"<p>About</p>"}


def zip_file(files):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return {"name": "site.zip", "mimeType": "application/zip", "buffer": out.getvalue()}


def served(port, host, path="/"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={"Host": host})
    response = conn.getresponse()
    result = response.status, response.read().decode()
    conn.close()
    return result


@pytest.fixture
def dns_records(monkeypatch):
    records = {}

    def resolve(name, rdtype, lifetime=None):
        if name not in records:
            raise dns.resolver.NXDOMAIN()
        return [SimpleNamespace(strings=(v.encode(),)) for v in records[name]]

    monkeypatch.setattr(dns.resolver, "resolve", resolve)
    return records


@pytest.mark.slow
def test_folder_site_releases_rollback_and_own_domain(page, worker, origin, dns_records):
    sign_up(page, "fiona")
    page.get_by_role("link", name="New site").click()
    page.fill("#id_name", "folder-e2e")
    page.get_by_label("Upload a folder (.zip or .tar.gz)").check()
    page.set_input_files("#id_folder", zip_file(FIRST))
    page.get_by_role("button", name="Create and deploy").click()
    watch_deployment(page, then=worker.start)
    expect(status_of(page)).to_have_attribute("data-status", "live")
    host = page.locator("#site-url").get_attribute("href").split("//")[1].split("/")[0]
    assert served(origin, host, "/css/site.css") == (200, "h1{color:teal}")
    assert served(origin, host, "/missing") == (404, "<h1>Our 404</h1>")

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Upload a folder (.zip or .tar.gz)").check()
    page.set_input_files("#id_folder", zip_file(SECOND))
    page.get_by_role("button", name="Deploy the change").click()
    expect(status_of(page)).to_have_attribute("data-status", "live", timeout=120_000)
    expect(page.locator("#releases [data-live]")).to_have_count(1)
    assert served(origin, host, "/css/site.css") == (200, "h1{color:red}")

    page.locator('#releases tr[data-release="2"]').get_by_role("link", name="Changes").click()
    expect(page.locator("#added")).to_have_text("about.html")
    expect(page.locator("#changed")).to_have_text("css/site.css")
    expect(page.locator("#removed")).to_contain_text("none")
    page.locator("h1 a").click()

    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.get_by_role("alert")).to_contain_text("Rolling folder-e2e back to v1")
    expect(status_of(page)).to_have_attribute("data-status", "live", timeout=120_000)
    expect(page.locator('#releases tr[data-release="3"]')).to_contain_text("v1 again")
    assert served(origin, host, "/css/site.css") == (200, "h1{color:teal}")
    assert served(origin, host, "/about.html") == (404, "<h1>Our 404</h1>")

    page.fill("#id_domain", "www.fiona.example")
    page.get_by_role("button", name="Add domain").click()
    row = page.locator('#domains tr[data-domain="www.fiona.example"]')
    record_name = row.locator("code").nth(1).text_content()
    record_value = row.locator("code").nth(2).text_content()
    assert record_name == "_herocool-challenge.www.fiona.example"
    page.get_by_role("button", name="Verify www.fiona.example").click()
    expect(page.locator("#domains")).to_contain_text("No TXT record")
    dns_records[record_name] = [record_value]
    page.get_by_role("button", name="Verify www.fiona.example").click()
    expect(row.locator("[data-verified]")).to_be_visible()
    expect(status_of(page)).to_have_attribute("data-status", "live", timeout=120_000)
    expect(page.locator("#in-progress")).to_have_count(0, timeout=120_000)
    assert served(origin, "www.fiona.example", "/") == (200, "<h1>Folder v1</h1>")
