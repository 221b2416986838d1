import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A config folder of the test's own, and no login from the environment."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("HEROCOOL_URL", raising=False)
    monkeypatch.delenv("HEROCOOL_TOKEN", raising=False)
    return tmp_path
