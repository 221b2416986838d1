"""Unpacking a user's .zip or .tar.gz into a site's files, treating it as hostile.

Two passes: the first reads only the member list and refuses anything that could step
outside the site (absolute paths, `..`, drive letters, backslashes), anything but plain
files and folders (symlinks, hard links, devices, FIFOs), names that are not clean UTF-8
or that collide once normalised (NFC), and archives past the limits by their declared
sizes. The second streams each file's bytes, counting what really comes out (a zip's
declared sizes can lie), and writes them only when given a fresh folder of the caller's.
Without one nothing is written at all: the form checks an upload that way.
No Django: the limits come in as a Limits.
"""
import hashlib
import io
import os
import re
import stat
import tarfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

CHUNK = 64 * 1024
DRIVE = re.compile(r"^[A-Za-z]:")
# C0 and C1 control characters and DEL: never part of a file name a site needs.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What archivers add beside the files, never served (the origin refuses dot files).
IGNORED = re.compile(r"(^|/)(__MACOSX|\.[^/]*)(/|$)")
MAX_NAME_BYTES = 255
MAX_PATH_CHARS = 1024


class ArchiveError(Exception):
    """Why an archive was refused; the message is for the user."""


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_total_bytes: int
    max_file_bytes: int
    max_ratio: int  # unpacked bytes per archive byte, past which it is a bomb


@dataclass(frozen=True)
class Member:
    path: str  # the normalised path inside the site, top-level folder stripped
    size: int  # as declared
    source: object  # the ZipInfo or TarInfo to read it from


def kind_of(data: bytes) -> str:
    """"zip" or "tar" by the bytes themselves, whatever the file is called."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[:2] == b"\x1f\x8b" or data[257:262] == b"ustar":
        return "tar"
    raise ArchiveError("This is not a .zip or .tar.gz archive.")


def unpack(data: bytes, limits: Limits, write_to: Path | None = None) -> dict:
    """{path: (size, sha256 hex)} of the site the archive holds. With write_to (an empty
    folder), the files are written there; the caller removes it if this raises."""
    if kind_of(data) == "zip":
        return _unpack_zip(data, limits, write_to)
    return _unpack_tar(data, limits, write_to)


# --- zip ------------------------------------------------------------------------------
def _unpack_zip(data, limits, write_to):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ArchiveError(f"The .zip archive is damaged ({exc}).") from None
    members = []
    for info in _counted(infos, limits, "is_dir"):
        if info.is_dir():
            continue
        name = clean_path(_zip_name(info))
        if _ignored(name):
            continue
        _check_zip_type(info, name)
        members.append((name, info.file_size, info))
    members = _checked(members, limits)
    _check_ratio(sum(m.size for m in members), len(data), limits)
    with archive:
        return _stream(members, lambda m: archive.open(m.source), limits, write_to,
                       len(data))


def _zip_name(info):
    if info.flag_bits & 0x800:  # the archiver said UTF-8
        return info.filename
    raw = info.filename.encode("cp437")  # how zipfile decoded bytes with no such flag
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ArchiveError(f"A file name is not UTF-8 ({raw!r}); rename it and "
                           "archive again.") from None


def _check_zip_type(info, name):
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise ArchiveError(f"{name} is a symbolic link; a site may hold only files.")
    if kind not in (0, stat.S_IFREG):
        raise ArchiveError(f"{name} is not a regular file; a site may hold only files.")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{name} is encrypted; upload an archive without a password.")


# --- tar ------------------------------------------------------------------------------
def _unpack_tar(data, limits, write_to):
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"The .tar.gz archive is damaged ({exc}).") from None
    with archive:
        members = _tar_members(archive, limits)
        _check_ratio(sum(m.size for m in members), len(data), limits)
        return _stream(members, lambda m: archive.extractfile(m.source), limits,
                       write_to, len(data))


def _tar_members(archive, limits):
    """Read header by header, refusing as soon as the declared sizes are too much, so a
    bomb is never decompressed past the limit just to list it."""
    members, declared = [], 0
    try:
        for info in _counted(_iter_tar(archive), limits, "isdir"):
            if info.isdir():
                continue
            name = clean_path(_tar_name(info))
            if _ignored(name):
                continue
            _check_tar_type(info, name)
            declared += info.size
            if declared > limits.max_total_bytes:
                raise ArchiveError(_too_big_total(limits))
            members.append((name, info.size, info))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"The .tar.gz archive is damaged ({exc}).") from None
    return _checked(members, limits)


def _iter_tar(archive):
    while (info := archive.next()) is not None:
        yield info


def _tar_name(info):
    try:
        info.name.encode("utf-8")  # undecodable bytes came through as surrogates
    except UnicodeEncodeError:
        raw = info.name.encode("utf-8", "surrogateescape")
        raise ArchiveError(f"A file name is not UTF-8 ({raw!r}); rename it and "
                           "archive again.") from None
    return info.name


def _check_tar_type(info, name):
    if info.issym() or info.islnk():
        raise ArchiveError(f"{name} is a link; a site may hold only files.")
    if not info.isreg() or info.issparse():
        raise ArchiveError(f"{name} is not a regular file (a device, FIFO or other); "
                           "a site may hold only files.")


# --- what both share ------------------------------------------------------------------
def _counted(entries, limits, dir_test):
    """The entries, refusing the archive once it holds more files than allowed."""
    files = 0
    for entry in entries:
        if not getattr(entry, dir_test)():
            files += 1
            if files > limits.max_files:
                raise ArchiveError(f"The archive holds more than {limits.max_files:,} "
                                   "files, the most a site may have.")
        yield entry


def _ignored(path):
    return bool(IGNORED.search(path))


def clean_path(name: str) -> str:
    """The archive name as a relative path inside the site, or ArchiveError."""
    shown = name if len(name) < 200 else name[:200] + "…"
    if CONTROL.search(name):
        raise ArchiveError(f"A file name holds control characters ({shown!r}).")
    if "\\" in name:
        raise ArchiveError(f"{shown} contains a backslash; use folders, not "
                           "Windows-style paths.")
    if name.startswith("/") or DRIVE.match(name):
        raise ArchiveError(f"{shown} is an absolute path; a site's files must be "
                           "relative to its folder.")
    name = unicodedata.normalize("NFC", name)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{shown} points outside the site (..).")
    if not parts:
        raise ArchiveError("An archive entry has an empty name.")
    if any(len(p.encode()) > MAX_NAME_BYTES for p in parts) or len(name) > MAX_PATH_CHARS:
        raise ArchiveError(f"{shown} is too long a name.")
    return "/".join(parts)


def _checked(entries, limits):
    """[(clean path, size, source)] → [Member], the one top folder stripped, sizes and
    duplicates refused."""
    cleaned = list(entries)
    if not cleaned:
        raise ArchiveError("The archive holds no files.")
    prefix = _common_top(p for p, _, _ in cleaned)
    members, seen, total = [], set(), 0
    for path, size, source in cleaned:
        path = path[len(prefix):]
        if path in seen:
            raise ArchiveError(f"{path} appears twice in the archive (after "
                               "normalising its name).")
        seen.add(path)
        if size > limits.max_file_bytes:
            raise ArchiveError(_too_big_file(path, limits))
        total += size
        if total > limits.max_total_bytes:
            raise ArchiveError(_too_big_total(limits))
        members.append(Member(path, size, source))
    _refuse_file_folder_clash(seen)
    return members


def _common_top(paths):
    """"folder/" when every file is inside that one folder, else ""."""
    tops = {p.split("/", 1)[0] if "/" in p else None for p in paths}
    if len(tops) == 1 and None not in tops:
        return tops.pop() + "/"
    return ""


def _refuse_file_folder_clash(paths):
    for path in paths:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in paths:
                raise ArchiveError(f"{'/'.join(parts[:i])} is both a file and a folder.")


def _check_ratio(unpacked, packed, limits):
    if unpacked > limits.max_ratio * max(packed, 1024):
        raise ArchiveError(_bomb(limits))


def _stream(members, open_member, limits, write_to, packed):
    """Read every member's bytes, counting what really comes out; write if asked."""
    manifest, total = {}, 0
    for member in members:
        digest, size = hashlib.sha256(), 0
        out = _create(write_to, member.path) if write_to else None
        try:
            with open_member(member) as source:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    _check_running(member, size, total, packed, limits)
                    digest.update(chunk)
                    if out is not None:
                        out.write(chunk)
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
            raise ArchiveError(f"{member.path} could not be read ({exc}).") from None
        finally:
            if out is not None:
                out.close()
        manifest[member.path] = (size, digest.hexdigest())
    return manifest


def _check_running(member, size, total, packed, limits):
    if size > limits.max_file_bytes:
        raise ArchiveError(_too_big_file(member.path, limits))
    if total > limits.max_total_bytes:
        raise ArchiveError(_too_big_total(limits))
    if total > limits.max_ratio * max(packed, 1024):
        raise ArchiveError(_bomb(limits))


def _create(root, path):
    """A new file at root/path, never through a link, never outside root."""
    target = root.joinpath(*path.split("/"))
    if not target.resolve().is_relative_to(root.resolve()):  # belt and braces
        raise ArchiveError(f"{path} points outside the site.")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    return os.fdopen(fd, "wb")


def _too_big_file(path, limits):
    return f"{path} is larger than {_mb(limits.max_file_bytes)}, the most one file may be."


def _too_big_total(limits):
    return f"The archive unpacks to more than {_mb(limits.max_total_bytes)}, the most a " \
           "site may hold."


def _bomb(limits):
    return ("The archive inflates more than {}-fold: that is a zip bomb, not a site."
            .format(limits.max_ratio))


def _mb(n):
    return f"{n / 1024 / 1024:g} MB"


def folder_manifest(folder: Path) -> dict:
    """{path: (size, sha256)} of the files really under `folder` (a published release),
    so tree_hash() tells whether anything in it was changed. A link counts as a file whose
    content is where it points."""
    manifest = {}
    for parent, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(parent, d))]:
            path = os.path.join(parent, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            if os.path.islink(path):
                target = os.readlink(path).encode()
                manifest[rel] = (len(target), "link:" + hashlib.sha256(target).hexdigest())
                continue
            digest, size = hashlib.sha256(), 0
            with open(path, "rb") as file:
                while chunk := file.read(1024 * 1024):
                    size += len(chunk)
                    digest.update(chunk)
            manifest[rel] = (size, digest.hexdigest())
    return manifest


def tree_hash(manifest: dict) -> str:
    """One hash for a site's whole content: its paths with each file's hash."""
    digest = hashlib.sha256()
    for path in sorted(manifest):
        digest.update(f"{path}\0{manifest[path][1]}\n".encode())
    return digest.hexdigest()
