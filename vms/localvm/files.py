"""Files a guest's directory holds are the platform user's alone, whatever the umask:
the disk carries the guest's SSH host keys and the user's data."""
import os
from pathlib import Path

PRIVATE_UMASK = 0o077


def make_private_dir(vm_dir) -> Path:
    """The VM's directory, created 0700 (and made so if it existed)."""
    vm = Path(vm_dir).resolve()
    vm.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    vm.mkdir(mode=0o700, exist_ok=True)
    os.chmod(vm, 0o700)
    return vm


def private_opener(path, flags):
    return os.open(path, flags, 0o600)


def write_private(path, text) -> None:
    """Replace `path` with `text`, the new file 0600 from its first byte."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _remove(tmp)
    with open(tmp, "w", opener=private_opener) as f:
        f.write(text)
    os.chmod(tmp, 0o600)  # opener modes are masked by the umask, never widened: be sure
    os.replace(tmp, path)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
