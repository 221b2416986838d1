"""Machines through the API over real HTTP: created with the form's checks, their SSH
details, a stranger's 404, and a queued create cancelled then retried (no guest boots)."""
import pytest

from stacks.models import Status
from stacks.tests.apiclient import Api, token_for
from vms.models import VirtualMachine

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(live_server, alice):
    return Api(live_server.url, token_for(alice, "machines"))


def body(keys, **changes):
    return {"name": "box", "instance_type": "t3.micro", "ssh_public_key": keys["ed25519"][0],
            "allowed_cidr": "203.0.113.7/32", **changes}


def test_create_queues_the_machine_with_the_forms_checks(api, alice, keys):
    status, answer, _ = api.post("vms/", body(keys))
    assert status == 201 and answer["deployment"]["action"] == "create"
    vm = VirtualMachine.objects.get()
    assert vm.owner == alice and vm.ssh_public_key == keys["ed25519"][0]
    status, answer, _ = api.post("vms/", body(keys, name="wide", allowed_cidr="0.0.0.0/0"))
    assert status == 400 and answer["errors"]["allowed_cidr"][0].startswith(
        "0.0.0.0/0 lets 4,294,967,296 addresses try to log in by SSH.")
    assert api.post("vms/", body(keys, name="wide", allowed_cidr="0.0.0.0/0",
                                 allow_anywhere=True))[0] == 201
    status, answer, _ = api.post("vms/", body(keys, name="bad", ssh_public_key="nope"))
    assert status == 400 and answer["errors"]["ssh_public_key"]


def test_a_private_key_is_never_echoed(api, keys):
    status, answer, _ = api.post("vms/", body(keys, ssh_public_key=keys["ed25519"][1]))
    assert status == 400 and "PRIVATE KEY" not in str(answer)


def test_a_live_machine_shows_how_to_reach_it_by_ssh(api, alice, keys):
    vm = VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", ssh_public_key=keys["ed25519"][0],
        allowed_cidr="203.0.113.7/32", status=Status.LIVE,
        outputs={"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool"})
    status, answer, _ = api.get(f"vms/{vm.code}/")
    assert status == 200 and "ssh_public_key" not in answer
    assert answer["ssh"] == {"user": "herocool", "host": "127.0.0.1", "port": 2222,
                             "command": "ssh -p 2222 herocool@127.0.0.1"}


def test_it_validates_ownership(live_server, bob, api, keys):
    api.post("vms/", body(keys))
    vm = VirtualMachine.objects.get()
    stranger = Api(live_server.url, token_for(bob, "read", "deploy", "machines"))
    for method, path in [("GET", f"vms/{vm.code}/"), ("PATCH", f"vms/{vm.code}/"),
                         ("DELETE", f"vms/{vm.code}/"), ("POST", f"vms/{vm.code}/retry/"),
                         ("POST", f"vms/{vm.code}/refresh/"),
                         ("GET", f"vms/{vm.code}/deployments/")]:
        assert stranger(method, path, None if method == "GET" else {})[0] == 404, path
    assert stranger.get("vms/")[1]["results"] == []


def test_a_queued_create_cancelled_then_retried(api, keys):
    api.post("vms/", body(keys))
    vm = VirtualMachine.objects.get()
    create = vm.deployments.get()
    status, answer, _ = api.post(f"deployments/{create.code}/cancel/")
    assert status == 200 and answer["status"] == "cancelled"
    assert answer["note"] == "Deployment cancelled."
    assert api.get(f"vms/{vm.code}/")[1]["status"] == "failed"
    status, answer, _ = api.post(f"deployments/{create.code}/cancel/")
    assert status == 409 and answer["detail"] == "This deployment has already finished."
    status, answer, _ = api.post(f"vms/{vm.code}/retry/")
    assert status == 202 and answer["deployment"]["action"] == "create"
    assert answer["resource"]["status"] == "pending"


def test_a_machines_change_needs_the_machines_scope(live_server, alice, api, keys):
    api.post("vms/", body(keys))
    vm = VirtualMachine.objects.get()
    deploy_only = Api(live_server.url, token_for(alice, "deploy"))
    create = vm.deployments.get()
    assert deploy_only.post(f"deployments/{create.code}/cancel/")[0] == 403
    assert deploy_only("DELETE", f"vms/{vm.code}/")[0] == 403
    assert deploy_only.get(f"vms/{vm.code}/")[0] == 200


def test_every_change_of_a_live_machine_as_its_owner(api, alice, keys):
    """PATCH, preview, refresh and DELETE each queue their deployment (cancelled in
    between: one in flight per stack); the record changes only when an update runs."""
    from stacks.models import Deployment

    vm = VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", ssh_public_key=keys["ed25519"][0],
        allowed_cidr="203.0.113.7/32", status=Status.LIVE)
    Deployment.objects.create(resource=vm, owner=alice, stack_name=vm.stack_name,
                              action="create", status="succeeded", requested_by=alice)
    calls = [("PATCH", f"vms/{vm.code}/", {"instance_type": "t3.small"}, "update", "updating"),
             ("POST", f"vms/{vm.code}/preview/", {"allowed_cidr": "198.51.100.0/24"},
              "preview", "live"),
             ("POST", f"vms/{vm.code}/refresh/", {}, "refresh", "live"),
             ("DELETE", f"vms/{vm.code}/", None, "destroy", "deleting")]
    for method, path, change, action, shown in calls:
        status, answer, _ = api(method, path, change)
        assert status == 202, (path, answer)
        assert answer["deployment"]["action"] == action
        assert answer["resource"]["status"] == shown
        code = answer["deployment"]["code"]
        assert api.post(f"deployments/{code}/cancel/")[1]["status"] == "cancelled"
    vm.refresh_from_db()
    assert vm.instance_type == "t3.micro" and vm.status == Status.LIVE
    update = vm.deployments.get(action="update")
    assert update.params["instance_type"] == "t3.small"
    assert update.params["ssh_public_key"] == keys["ed25519"][0]  # unchanged, carried
    listed = api.get("deployments/?limit=3")[1]
    assert [d["action"] for d in listed["results"]] == ["destroy", "refresh", "preview"]
    assert listed["next"]
