"""A folder picked in the browser, turned into the archive an upload of it would be.

The browser sends each file of an `<input type=file webkitdirectory>` as its own part,
but Django keeps only the base name of each; static/js/folder.js sends the files'
relative paths (webkitRelativePath), in the same order, as a JSON list in a hidden field.
Each path goes through the archive's own checks (sites/archive.clean_path: no `..`, no
absolute path, no control characters, names normalised) before any byte is packed, and
the zip made of them goes through unpack() like any uploaded one: the same limits, the
one top folder (the picked folder's name) stripped, the same tree. No Django here.
"""
import io
import json
import os
import unicodedata
import zipfile

from .archive import ArchiveError, Limits, _ignored, clean_path

# A fixed time for every member: the same files always make the same archive.
EPOCH = (1980, 1, 1, 0, 0, 0)


def paths_of(text: str, count: int) -> list:
    """The relative paths the page sent, one per picked file, or ArchiveError."""
    try:
        paths = json.loads(text or "null")
    except ValueError:
        paths = None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ArchiveError("The browser did not send where each file of the folder is. "
                           "Pick the folder again with JavaScript on, or upload a .zip "
                           "of it.")
    if len(paths) != count:
        raise ArchiveError(f"The browser sent {count} files but {len(paths)} paths; "
                           "pick the folder again.")
    return paths


def archive_of(files, paths_text: str, limits: Limits) -> bytes:
    """A zip of the picked `files` (uploaded files, each with .name, .size, .read())
    under their paths; refused past the limits before it is built."""
    paths = paths_of(paths_text, len(files))
    members, seen, total = [], set(), 0
    for upload, raw in zip(files, paths):
        path = clean_path(raw)
        if _ignored(path):  # .git, .DS_Store, __MACOSX: never served
            continue
        _check_pairing(upload, path)
        if path in seen:
            raise ArchiveError(f"{path} was picked twice.")
        seen.add(path)
        if len(seen) > limits.max_files:
            raise ArchiveError(f"The folder holds more than {limits.max_files:,} files, "
                               "the most a site may have.")
        total += upload.size
        if total > limits.max_total_bytes:
            raise ArchiveError(f"The folder holds more than "
                               f"{limits.max_total_bytes / 1024 / 1024:g} MB, the most a "
                               "site may hold.")
        members.append((path, upload))
    if not members:
        raise ArchiveError("The folder holds no files.")
    packed = _zip(members, zipfile.ZIP_DEFLATED)
    if total > limits.max_ratio * max(len(packed), 1024) // 2:
        # Very compressible files are no bomb when they came as they are: stored, they
        # pass unpack()'s inflation check, which is there for archives users make.
        packed = _zip(members, zipfile.ZIP_STORED)
    return packed


def _check_pairing(upload, path):
    """The file's own name must end its path, or the page paired them wrongly."""
    sent = unicodedata.normalize("NFC", os.path.basename(upload.name or ""))
    if sent != path.rsplit("/", 1)[-1]:
        raise ArchiveError(f"The browser sent {sent!r} where {path} was expected; pick "
                           "the folder again.")


def _zip(members, method):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for path, upload in members:
            upload.seek(0)
            info = zipfile.ZipInfo(path, date_time=EPOCH)
            info.compress_type = method
            info.external_attr = 0o100644 << 16  # a regular file
            archive.writestr(info, upload.read())
    return out.getvalue()
