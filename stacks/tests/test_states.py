"""Every state change is conditional on the state it expects, and history is kept: cancel
still holds the stack, jobs never overwrite what changed meanwhile, the admin changes
nothing except through deployments."""
import pytest
from django.urls import reverse

from sites.models import Site
from stacks import services
from stacks.jobs import run_deployment
from stacks.models import Deployment, Status

pytestmark = pytest.mark.django_db
State = Deployment.State


@pytest.fixture
def site(alice):
    return Site.objects.create(owner=alice, name="blog", content="<p>1</p>",
                               status=Status.LIVE)


def running(site, action="update"):
    site.transition(Status.UPDATING, expected=[Status.LIVE])
    return Deployment.objects.create(resource=site, owner=site.owner, action=action,
                                     stack_name=site.stack_name, status=State.RUNNING)


def test_a_cancelled_running_deployment_still_holds_the_stack(site, alice, queue):
    deployment = running(site)
    services.cancel(deployment, alice)
    deployment.refresh_from_db()
    assert deployment.status == State.CANCELLING and deployment.is_active
    assert deployment.cancelled_by == alice and deployment.finished_at is None
    with pytest.raises(services.DeploymentRefused, match="already queued or running"):
        services.request_deployment(site, Deployment.Action.UPDATE, alice)
    site.refresh_from_db()
    assert site.status == Status.UPDATING  # nothing is decided until the job is gone
    assert [j.func_name for j in services.queue("maintenance").jobs] == [
        "stacks.jobs.release_stack"]


def test_cancel_twice_is_refused(site, alice, queue):
    deployment = running(site)
    services.cancel(deployment, alice)
    with pytest.raises(services.DeploymentRefused, match="already finished"):
        services.cancel(deployment, alice)


def test_cancel_with_the_queue_down_answers_and_says_so(alice_client, site, alice, settings):
    deployment = running(site)
    settings.RQ_QUEUES = {name: {"URL": "redis://127.0.0.1:9/0"}
                          for name in ("default", "maintenance")}
    response = alice_client.post(reverse("stacks-deployment-cancel", args=[deployment.code]),
                                 follow=True)
    assert response.status_code == 200
    assert services.CANCEL_QUEUE_DOWN in response.content.decode()
    deployment.refresh_from_db()
    assert deployment.status == State.CANCELLING


def test_a_job_claims_nothing_once_cancelled(site, alice):
    Deployment.objects.create(resource=site, owner=alice, action="create",
                              stack_name=site.stack_name, status="succeeded")
    deployment = services.request_deployment(site, Deployment.Action.UPDATE, alice)
    services.cancel(deployment, alice)
    assert run_deployment(deployment.pk) is None
    deployment.refresh_from_db()
    site.refresh_from_db()
    assert deployment.status == State.CANCELLED and not deployment.started_at
    assert site.status == Status.LIVE  # the queued update never ran: nothing changed


def test_finish_after_a_cancel_leaves_the_record_alone(site, alice):
    deployment = running(site)
    deployment.request_cancel(alice)
    assert not deployment.finish(State.SUCCEEDED)
    assert deployment.status == State.CANCELLING


def test_transitions_only_from_expected_states(site):
    assert not site.transition(Status.DELETED, expected=[Status.DELETING])
    site.refresh_from_db()
    assert site.status == Status.LIVE
    assert site.transition(Status.DELETING, expected=[Status.LIVE])
    assert Site.objects.get(pk=site.pk).status == Status.DELETING


def test_an_update_writes_nothing_a_job_owns(alice_client, site, queue):
    page = alice_client.get(reverse("sites-update", args=[site.code]))
    assert page.status_code == 200
    # A job changes the record while the user is on the edit page ...
    Site.objects.filter(pk=site.pk).update(outputs={"website_url": "http://new/"})
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "html", "html": "<p>2</p>"})
    site.refresh_from_db()
    # ... and the user's request does not put the old outputs back.
    assert site.outputs == {"website_url": "http://new/"} and site.status == Status.UPDATING
    assert site.deployments.get().params["content"] == "<p>2</p>"


def test_a_cancelled_update_leaves_the_record_as_deployed(alice_client, alice, site, queue):
    Deployment.objects.create(resource=site, owner=alice, action="create",
                              stack_name=site.stack_name, status="succeeded")
    alice_client.post(reverse("sites-update", args=[site.code]),
                      {"source": "html", "html": "<p>never deployed</p>"})
    update = site.deployments.get(action="update")
    alice_client.post(reverse("stacks-deployment-cancel", args=[update.code]))
    site.refresh_from_db()
    assert site.status == Status.LIVE and site.content == "<p>1</p>"


def test_an_internal_error_keeps_the_traceback_out_of_the_users_log(site, alice, monkeypatch):
    def broken(self, deployment, say):
        raise ZeroDivisionError("secret path /srv/herocool/settings.py")

    monkeypatch.setattr(Site, "prepare", broken)
    deployment = services.request_deployment(site, Deployment.Action.UPDATE, alice)
    with pytest.raises(ZeroDivisionError):
        run_deployment(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.status == State.FAILED
    assert "Internal error (ZeroDivisionError)" in deployment.error
    assert str(deployment.code) in deployment.error
    for text in (deployment.full_log(), deployment.error):
        assert "Traceback" not in text and "/srv/herocool" not in text


def test_the_admin_neither_edits_nor_deletes(admin_client, site, alice):
    deployment = Deployment.objects.create(resource=site, owner=alice, action="update",
                                           stack_name=site.stack_name, status="succeeded")
    change = reverse("admin:sites_site_change", args=[site.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="name"' not in page and "Save" not in page and "Delete" not in page
    admin_client.post(change, {"name": "renamed", "owner": alice.pk, "content": "x"})
    assert admin_client.get(reverse("admin:sites_site_delete", args=[site.pk])
                            ).status_code == 403
    changelist = admin_client.get(reverse("admin:sites_site_changelist")).content.decode()
    assert "delete_selected" not in changelist
    admin_client.post(reverse("admin:sites_site_changelist"),
                      {"action": "delete_selected", "_selected_action": [site.pk],
                       "post": "yes"})
    for name in ("admin:stacks_deployment_delete",):
        assert admin_client.get(reverse(name, args=[deployment.pk])).status_code == 403
    site.refresh_from_db()
    assert site.name == "blog" and site.content == "<p>1</p>"
    assert Deployment.objects.filter(pk=deployment.pk).exists()


def live_worker(queue):
    """An RQ worker registered in Redis with a fresh heartbeat and no job in hand."""
    from stacks.rqworker import HerocoolWorker

    worker = HerocoolWorker([queue], connection=queue.connection)
    worker.register_birth()
    worker.heartbeat()
    return worker


def test_a_live_worker_whose_records_redis_lost_keeps_its_deployment(site, alice, queue):
    """After a Redis restart without persistence a busy worker's key comes back with its
    heartbeat but without its current job, and the job's own record is gone: the sweep
    must not take the job for gone and unlock a stack the engine still holds."""
    from stacks.sweep import job_is_gone

    worker = live_worker(queue)
    deployment = running(site)
    Deployment.objects.filter(pk=deployment.pk).update(worker_name=worker.name)
    deployment.refresh_from_db()
    assert not job_is_gone(deployment)
    worker.register_death()
    assert job_is_gone(deployment)


def test_a_live_worker_past_its_job_lets_it_go(site, alice, queue):
    """Its horse was killed: the worker lives on, RQ recorded the job as failed."""
    from stacks.sweep import job_is_gone

    worker = live_worker(queue)
    deployment = running(site)
    job = queue.enqueue("stacks.jobs.run_deployment", deployment.pk,
                        job_id=str(deployment.code))
    job.set_status("failed")
    Deployment.objects.filter(pk=deployment.pk).update(worker_name=worker.name)
    deployment.refresh_from_db()
    assert job_is_gone(deployment)
