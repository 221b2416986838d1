"""A deployment's log as append-only chunks: writers that race, polls that read only
what is new, the page and the admin that read it whole, pruning, and the migration."""
import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sites.models import Site
from stacks.logwriter import LogWriter, append_log
from stacks.models import Deployment, DeploymentLogChunk, Status

CHUNK_TABLE = DeploymentLogChunk._meta.db_table


@pytest.fixture
def site(alice):
    return Site.objects.create(owner=alice, name="blog", content="<p>1</p>",
                               status=Status.LIVE)


@pytest.fixture
def deployment(site, alice):
    return Deployment.objects.create(resource=site, owner=alice, action="update",
                                     stack_name=site.stack_name, status="running")


def poll(client, deployment, after):
    url = reverse("stacks-deployment-log", args=[deployment.code])
    return client.get(url, {"after": after}).json()


@pytest.mark.django_db(transaction=True)
def test_writers_at_once_keep_every_line_once_and_in_order(deployment, monkeypatch):
    """The job's LogWriter and two other threads (a sweep's, an unlock's lines) append
    to one log at the same time: nothing is lost or doubled, each writer's lines stay
    in its order, and the chunks' offsets are contiguous."""
    monkeypatch.setattr("stacks.logwriter.FLUSH_SECONDS", 0.001)  # a flush per line or so
    per_writer = 150
    start = threading.Barrier(3)

    def direct(name):
        try:
            start.wait()
            for i in range(per_writer):
                append_log(deployment.pk, f"{name} {i}\n")
        finally:
            connection.close()

    def through_a_logwriter():
        writer = LogWriter(deployment.pk)
        start.wait()
        for i in range(per_writer):
            writer.line(f"job {i}")
            time.sleep(0.0005)
        writer.close()

    threads = [threading.Thread(target=direct, args=("sweep",)),
               threading.Thread(target=direct, args=("unlock",)),
               threading.Thread(target=through_a_logwriter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    lines = deployment.full_log().splitlines()
    for name in ("sweep", "unlock", "job"):
        assert [line for line in lines if line.startswith(name + " ")] == [
            f"{name} {i}" for i in range(per_writer)]
    assert len(lines) == 3 * per_writer
    assert deployment.log_chunks.count() > 2 * per_writer  # the job's writer flushed often
    chunks = list(deployment.log_chunks.values_list("start", "end", "text"))
    assert chunks[0][0] == 0
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))  # no gap, no overlap
    assert all(end - start == len(text) for start, end, text in chunks)


@pytest.mark.django_db(transaction=True)
def test_a_flush_is_one_insert(deployment):
    """Appending costs one statement, whatever the log's length (no read, no rewrite)."""
    append_log(deployment.pk, "x" * 10_000)
    with CaptureQueriesContext(connection) as ctx:
        append_log(deployment.pk, "one more line\n")
    assert len(ctx.captured_queries) == 1
    assert ctx.captured_queries[0]["sql"].startswith("INSERT INTO")
    assert deployment.full_log() == "x" * 10_000 + "one more line\n"


@pytest.mark.django_db
def test_the_poll_returns_exactly_the_new_text(alice_client, deployment):
    """Each poll gives what was appended since `next`, in characters (not bytes), and
    an empty text with the same `next` when nothing is new."""
    first = poll(alice_client, deployment, 0)
    assert (first["text"], first["next"]) == ("", 0)
    appended, after = [], 0
    for text in ("Création ✓\n", "", "emoji 🚀 done\n", "a" * 5000 + "\n"):
        append_log(deployment.pk, text)
        appended.append(text)
        answer = poll(alice_client, deployment, after)
        assert answer["text"] == text
        after = answer["next"]
        assert after == len("".join(appended))
    assert poll(alice_client, deployment, after) == {**answer, "text": "", "next": after}
    whole = "".join(appended)
    assert poll(alice_client, deployment, 3)["text"] == whole[3:]  # inside a chunk
    assert poll(alice_client, deployment, 10**9)["text"] == ""
    assert poll(alice_client, deployment, 10**30)["text"] == ""  # not a database error


@pytest.mark.django_db
def test_a_nul_in_the_output_does_not_lose_the_log(deployment):
    """PostgreSQL refuses NUL in text: it is stored as U+FFFD (offsets unchanged) instead
    of failing the writer, which would drop every later line."""
    append_log(deployment.pk, "before\x00after\n")
    append_log(deployment.pk, "next line\n")
    assert deployment.read_log() == ("before\ufffdafter\nnext line\n", 23)


@pytest.mark.django_db
def test_the_poll_reads_only_the_chunks_after_its_offset(alice_client, deployment):
    """One query on the chunk table per poll, bounded by the offset (the index), so a
    poll at the end of a long log reads only the new chunk."""
    for i in range(50):
        append_log(deployment.pk, f"line {i}\n")
    _, before_last = deployment.read_log()
    append_log(deployment.pk, "the last line\n")
    with CaptureQueriesContext(connection) as ctx:
        answer = poll(alice_client, deployment, before_last)
    assert answer["text"] == "the last line\n"
    reads = [q["sql"] for q in ctx.captured_queries if CHUNK_TABLE in q["sql"]]
    assert len(reads) == 1 and f'"end" > {before_last}' in reads[0], reads


@pytest.mark.django_db
def test_the_page_shows_the_whole_log_and_where_the_poll_goes_on(alice_client, deployment):
    """The page renders every chunk in order, and data-next is the log's length in
    characters, which the first poll starts from."""
    for text in ("première\n", "<b>escaped</b>\n", "🚀\n"):
        append_log(deployment.pk, text)
    whole = "première\n<b>escaped</b>\n🚀\n"
    page = alice_client.get(deployment.get_absolute_url()).content.decode()
    assert "première\n&lt;b&gt;escaped&lt;/b&gt;\n🚀\n</pre>" in page
    assert f'data-next="{len(whole)}"' in page


@pytest.mark.django_db
def test_the_log_is_private(client, bob, deployment):
    """bob cannot poll alice's log."""
    append_log(deployment.pk, "alice's secret\n")
    client.force_login(bob)
    url = reverse("stacks-deployment-log", args=[deployment.code])
    assert client.get(url, {"after": 0}).status_code == 404


@pytest.mark.django_db
def test_prune_logs_replaces_old_chunks_with_a_note(site, alice):
    """Older finished deployments keep one chunk, the note; the newest and the live ones
    keep their chunks."""
    deployments = []
    for i, status in enumerate(["succeeded", "failed", "succeeded", "running"]):
        dep = Deployment.objects.create(resource=site, owner=alice, action="refresh",
                                        stack_name=f"{site.stack_name}-{i}", status=status)
        for line in range(3):
            append_log(dep.pk, f"deployment {i} line {line}\n")
        deployments.append(dep)
    call_command("prune_logs", "--keep", "1", stdout=io.StringIO())
    logs = [d.full_log() for d in deployments]  # oldest first
    assert logs[3].startswith("deployment 3 line 0")  # running: never pruned
    assert logs[2] == "".join(f"deployment 2 line {n}\n" for n in range(3))  # the newest
    for pruned in logs[:2]:
        assert pruned.startswith("[log pruned on ") and pruned.count("\n") == 1
    assert deployments[0].log_chunks.count() == 1
    append_log(deployments[0].pk, "a line after pruning\n")  # appends after the note
    assert deployments[0].full_log().endswith("--keep 1]\na line after pruning\n")


@pytest.mark.django_db
def test_the_admin_shows_the_whole_log_escaped(admin_client, deployment):
    append_log(deployment.pk, "<b>engine")
    append_log(deployment.pk, " said</b>")
    page = admin_client.get(reverse("admin:stacks_deployment_change", args=[deployment.pk]))
    assert "&lt;b&gt;engine said&lt;/b&gt;" in page.content.decode()


def migrate(target):
    """Migrate the test database to `target`; the apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.fixture
def back_to_the_latest_schema():
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_logs_into_chunks_and_back(alice, back_to_the_latest_schema):
    """0002 turns each log into one chunk; reversed, the chunks are joined in order."""
    apps = migrate([("stacks", "0001_initial")])
    ContentType = apps.get_model("contenttypes", "ContentType")
    OldDeployment = apps.get_model("stacks", "Deployment")
    site_type = ContentType.objects.get_or_create(app_label="sites", model="site")[0]
    common = {"resource_type_id": site_type.pk, "resource_id": 1, "owner_id": alice.pk,
              "action": "update", "status": "succeeded"}
    with_log = OldDeployment.objects.create(stack_name="a", log="é line\nline 2\n", **common)
    empty = OldDeployment.objects.create(stack_name="b", log="", **common)

    apps = migrate([("stacks", "0002_deployment_log_chunks")])
    Chunk = apps.get_model("stacks", "DeploymentLogChunk")  # later migrations change more
    assert list(Chunk.objects.filter(deployment_id=with_log.pk).values_list(
        "start", "end", "text")) == [(0, 14, "é line\nline 2\n")]
    assert not Chunk.objects.filter(deployment_id=empty.pk).exists()
    Chunk.objects.create(deployment_id=with_log.pk, start=14, end=20, text="added\n")

    apps = migrate([("stacks", "0001_initial")])
    logs = dict(apps.get_model("stacks", "Deployment").objects.values_list("pk", "log"))
    assert logs == {with_log.pk: "é line\nline 2\nadded\n", empty.pk: ""}
