"""Where the CLI keeps the platform's address and the token: $XDG_CONFIG_HOME/herocool/
config.json (~/.config when unset), readable by its owner only. HEROCOOL_URL and
HEROCOOL_TOKEN, when set, win (for CI)."""
import json
import os
from pathlib import Path


def path():
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "herocool" / "config.json"


def load():
    """{"url": ..., "token": ...}; empty values when never logged in."""
    try:
        saved = json.loads(path().read_text())
    except (FileNotFoundError, ValueError):
        saved = {}
    return {"url": os.environ.get("HEROCOOL_URL") or saved.get("url", ""),
            "token": os.environ.get("HEROCOOL_TOKEN") or saved.get("token", "")}


def save(url, token):
    """Write the file with mode 0600 from its creation on (its folder 0700): the token
    is a password."""
    file = path()
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # an older file may have had wider bits
        json.dump({"url": url, "token": token}, out, indent=2)
    return file
