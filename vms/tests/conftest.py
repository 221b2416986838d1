import subprocess

import pytest


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """Real keys made by ssh-keygen: {name: (public line, private text)}."""
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for name, args in {"ed25519": ["-t", "ed25519"], "ecdsa": ["-t", "ecdsa", "-b", "256"],
                       "rsa2048": ["-t", "rsa", "-b", "2048"],
                       "rsa1024": ["-t", "rsa", "-b", "1024"]}.items():
        path = folder / name
        subprocess.run(["ssh-keygen", "-q", "-N", "", "-C", f"{name}@test", "-f", str(path),
                        *args], check=True, timeout=60)
        made[name] = ((folder / f"{name}.pub").read_text().strip(), path.read_text())
    return made


@pytest.fixture
def vms_root(settings, tmp_path):
    """A private VMS_ROOT for the test (resolved: /proc paths are compared with it)."""
    settings.VMS_ROOT = tmp_path / "vms"
    settings.VMS_ROOT.mkdir()
    return settings.VMS_ROOT.resolve()
