"""A whole-folder site in a real browser, a real worker doing the work: uploaded, released
again, compared, rolled back; a folder picked as it is on the user's disk; then served for
the user's own domain once a job finds its TXT record (only the DNS resolver is stubbed)."""
import http.client
import re
import io
import threading
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
def test_folder_site_releases_and_rollback(page, worker, origin):
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



def check_here(queue):
    """Run the queued domain check in this process, where the resolver is stubbed (in a
    thread: Playwright's event loop in this one forbids the ORM)."""
    from sites.domains import check_domain

    [job] = queue.get_jobs()
    assert job.func is check_domain
    queue.remove(job)
    answer = []
    thread = threading.Thread(target=lambda: answer.append(check_domain(*job.args)))
    thread.start()
    thread.join(30)
    return answer[0]


PICKED = {"index.html": b"<h1>Picked</h1>", "css/site.css": b"h1{color:navy}",
          "docs/guide/index.html": b"<h1>Guide</h1>", "img/dot.svg": b"<svg/>",
          ".DS_Store": b"junk"}


@pytest.mark.slow
def test_a_picked_folder_is_served_and_its_domain_checked_by_a_job(
        page, worker, origin, dns_records, queue, tmp_path):
    folder = tmp_path / "my-site"
    for path, data in PICKED.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    sign_up(page, "gina")
    page.get_by_role("link", name="New site").click()
    page.fill("#id_name", "picked-e2e")
    page.get_by_label("Upload a folder (.zip or .tar.gz)").check()
    page.set_input_files("#id_picked", folder)  # the directory itself, as a user picks it
    page.get_by_role("button", name="Create and deploy").click()
    watch_deployment(page, then=worker.start)
    expect(status_of(page)).to_have_attribute("data-status", "live", timeout=120_000)
    host = page.locator("#site-url").get_attribute("href").split("//")[1].split("/")[0]
    assert served(origin, host, "/") == (200, "<h1>Picked</h1>")
    assert served(origin, host, "/css/site.css") == (200, "h1{color:navy}")
    assert served(origin, host, "/docs/guide/") == (200, "<h1>Guide</h1>")
    assert served(origin, host, "/img/dot.svg") == (200, "<svg/>")
    assert served(origin, host, "/.DS_Store")[0] == 404

    worker.stop()  # the checks run here, where the resolver is stubbed
    page.fill("#id_domain", "www.gina.example")
    page.get_by_role("button", name="Add domain").click()
    row = page.locator('#domains tr[data-domain="www.gina.example"]')
    record_name = row.locator("code").nth(1).text_content()
    record_value = row.locator("code").nth(2).text_content()
    assert record_name == "_herocool-challenge.www.gina.example"
    page.get_by_role("button", name="Check www.gina.example now").click()
    expect(row.locator("[data-domain-checking]")).to_have_text("checking…")
    assert "No TXT record" in check_here(queue)
    # The page reloads by itself (static/js/domains.js) once the job has answered.
    expect(row.locator("[data-check-result]")).to_contain_text("No TXT record")
    dns_records[record_name] = [record_value]
    page.get_by_role("button", name="Check www.gina.example now").click()
    assert check_here(queue) == "verified"
    expect(row.locator("[data-verified]")).to_be_visible()
    worker.start()  # the deployment the check asked for publishes the domain
    expect(page.locator("#in-progress")).to_have_count(0, timeout=120_000)
    page.reload()
    expect(status_of(page)).to_have_attribute("data-status", "live", timeout=120_000)
    assert served(origin, "www.gina.example", "/docs/guide/") == (200, "<h1>Guide</h1>")


def test_a_folder_too_big_to_send_is_refused_on_the_page_not_sent(page, settings, tmp_path):
    """Past what the front door takes in one request, the picker says so and the form is
    not sent (before: a 25 MB upload, then the 413 page, and the form lost)."""
    settings.REQUEST_MAX_BYTES_SITE_FORM = 64 * 1024 + 200_000  # 200 KB for the files
    folder = tmp_path / "big-site"
    (folder / "img").mkdir(parents=True)
    (folder / "index.html").write_bytes(b"<h1>Big</h1>")
    (folder / "img" / "photo.bin").write_bytes(b"x" * 300_000)
    sign_up(page, "hugo")
    page.get_by_role("link", name="New site").click()
    page.fill("#id_name", "too-big")
    page.get_by_label("Upload a folder (.zip or .tar.gz)").check()
    page.set_input_files("#id_picked", folder)
    note = page.locator("#id_picked-too-big")
    expect(note).to_contain_text("at most 0.2 MB can be sent at once")
    expect(page.locator("#id_picked")).to_have_class(re.compile(r"\bis-invalid\b"))
    posted = []
    page.on("request", lambda r: posted.append(r) if r.method == "POST" else None)
    page.get_by_role("button", name="Create and deploy").click()
    page.wait_for_timeout(500)
    assert posted == [] and page.url.endswith("/sites/new/")
    # Another source hides the picker: its folder will not be sent, so it blocks nothing.
    page.get_by_label("Paste HTML").check()
    assert page.eval_on_selector("#id_picked", "e => e.validity.valid")
    page.get_by_label("Upload a folder (.zip or .tar.gz)").check()
    assert not page.eval_on_selector("#id_picked", "e => e.validity.valid")

    (folder / "img" / "photo.bin").write_bytes(b"x" * 1000)  # small enough now
    page.set_input_files("#id_picked", folder)
    expect(note).to_be_empty()
    expect(page.locator("#id_picked")).not_to_have_class(re.compile(r"\bis-invalid\b"))
