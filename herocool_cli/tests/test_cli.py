"""The CLI's own behaviour: its config file's mode, `vms ssh`, its help and its errors
(a live server where the API is asked)."""
import json
import stat
import subprocess

import pytest

from herocool_cli import cli, commands, config
from stacks.models import Status
from stacks.tests.apiclient import token_for


def test_saving_narrows_an_existing_config_file_to_0600(home):
    path = home / "herocool" / "config.json"
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)
    config.save("http://x", "hc_a_b")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load() == {"url": "http://x", "token": "hc_a_b"}


def test_the_environment_wins_over_the_file(home, monkeypatch):
    config.save("http://x", "hc_a_b")
    monkeypatch.setenv("HEROCOOL_TOKEN", "hc_c_d")
    assert config.load() == {"url": "http://x", "token": "hc_c_d"}


def test_not_logged_in_is_a_clear_error(home, capsys):
    assert cli.main(["sites", "list"]) == 1
    assert "Not logged in: run herocool login" in capsys.readouterr().err


def test_help_says_a_folder_deploys_its_index_html(capsys):
    with pytest.raises(SystemExit):
        cli.main(["sites", "deploy", "--help"])
    assert "the whole folder is packed and deployed as a release" in capsys.readouterr().out


def test_an_unreachable_platform_is_a_clear_error(home, capsys):
    config.save("http://127.0.0.1:9", "hc_a_b")
    assert cli.main(["sites", "list"]) == 1
    assert "Cannot reach http://127.0.0.1:9/api/v1/" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_vms_ssh_runs_the_machines_ssh_command(home, live_server, alice, capsys,
                                               monkeypatch):
    from vms.models import VirtualMachine

    VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", ssh_public_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHerocoolTestKey a@b",
        allowed_cidr="203.0.113.7/32", status=Status.LIVE,
        outputs={"public_ip": "127.0.0.1", "ssh_port": 2222, "ssh_user": "herocool"})
    config.save(live_server.url, token_for(alice, "read"))
    ran = []
    monkeypatch.setattr(commands.os, "execvp", lambda file, argv: ran.append(argv))
    cli.main(["vms", "ssh", "box", "--", "uptime"])
    assert ran == [["ssh", "-p", "2222", "herocool@127.0.0.1", "uptime"]]
    assert cli.main(["vms", "ssh", "--print", "box"]) == 0
    assert capsys.readouterr().out.strip() == "ssh -p 2222 herocool@127.0.0.1"
    assert cli.main(["vms", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["ssh"]["port"] == 2222


@pytest.mark.django_db(transaction=True)
def test_vms_update_changes_only_what_it_is_given(home, live_server, alice, capsys):
    from vms.models import VirtualMachine

    subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-C", "a@b", "-f",
                    str(home / "key")], check=True, timeout=60)
    key = (home / "key.pub").read_text().strip()
    vm = VirtualMachine.objects.create(
        owner=alice, name="box", instance_type="t3.micro", ssh_public_key=key,
        allowed_cidr="203.0.113.7/32", status=Status.LIVE)
    config.save(live_server.url, token_for(alice, "machines"))
    assert cli.main(["vms", "update", "box", "--type", "t3.small", "--no-wait"]) == 0
    update = vm.deployments.get()
    assert update.action == "update"
    assert update.params == {"instance_type": "t3.small", "ssh_public_key": key,
                             "allowed_cidr": "203.0.113.7/32", "power": "running",
                             "restarts": 0}
    assert f"Deployment {update.code} (update) queued." in capsys.readouterr().out
