"""sites/archive.py: hostile archives refused with a reason, nothing written outside."""
import io
import tarfile
import zipfile

import pytest

from sites.archive import ArchiveError, Limits, tree_hash, unpack

LIMITS = Limits(max_files=100, max_total_bytes=10 * 1024 * 1024,
                max_file_bytes=5 * 1024 * 1024, max_ratio=100)


def make_zip(files, *, utf8=True):
    """files: {name: bytes}; ZipInfo values are written as they are."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def make_tar(members):
    """members: [(TarInfo, bytes or None)], gzipped."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def tar_file(name, data):
    return tarfile.TarInfo(name), data


@pytest.fixture
def dest(tmp_path):
    """An empty folder to unpack into, inside a parent whose other contents must stay
    untouched."""
    (tmp_path / "site").mkdir()
    return tmp_path / "site"


def everything_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_a_zip_of_one_folder_unpacks_without_that_folder(dest):
    data = make_zip({"mysite/index.html": b"<h1>hi</h1>", "mysite/css/site.css": b"h1{}",
                     "mysite/img/logo.png": b"\x89PNG...", "mysite/.DS_Store": b"x",
                     "__MACOSX/mysite/._index.html": b"x"})
    manifest = unpack(data, LIMITS, dest)
    assert sorted(manifest) == ["css/site.css", "img/logo.png", "index.html"]
    assert (dest / "css" / "site.css").read_bytes() == b"h1{}"
    assert manifest["index.html"][0] == 11
    assert everything_under(dest) == ["css", "css/site.css", "img", "img/logo.png",
                                      "index.html"]


def test_a_tar_gz_made_with_dot_prefixes_unpacks(dest):
    data = make_tar([tar_file("./index.html", b"<p>x</p>"), tar_file("./a/b.txt", b"b")])
    manifest = unpack(data, LIMITS, dest)
    assert sorted(manifest) == ["a/b.txt", "index.html"]
    assert (dest / "a" / "b.txt").read_bytes() == b"b"


def test_checking_without_a_folder_writes_nothing_and_hashes_the_same(dest, tmp_path):
    data = make_zip({"index.html": b"<p>1</p>", "x/y.css": b"y"})
    before = everything_under(tmp_path)
    checked = unpack(data, LIMITS)
    assert everything_under(tmp_path) == before
    assert tree_hash(checked) == tree_hash(unpack(data, LIMITS, dest))


def test_names_are_normalised_to_nfc_and_a_duplicate_after_it_is_refused():
    decomposed, composed = "cafe\u0301.html", "caf\u00e9.html"
    manifest = unpack(make_zip({decomposed: b"1"}), LIMITS)
    assert list(manifest) == [composed]
    with pytest.raises(ArchiveError, match="appears twice"):
        unpack(make_zip({decomposed: b"1", composed: b"2"}), LIMITS)


@pytest.mark.parametrize("name, reason", [
    ("../evil.html", "outside the site"),
    ("site/../../evil.html", "outside the site"),
    ("/etc/passwd", "absolute path"),
    ("C:/Windows/evil.html", "absolute path"),
    ("..\\evil.html", "backslash"),
    ("a\x07b.html", "control characters"),
])
def test_a_zip_name_stepping_outside_is_refused(name, reason, dest, tmp_path):
    data = make_zip({"index.html": b"ok", name: b"evil"})
    before = everything_under(tmp_path)
    with pytest.raises(ArchiveError, match=reason):
        unpack(data, LIMITS, dest)
    assert everything_under(tmp_path) == before


@pytest.mark.parametrize("name, reason", [
    ("../evil.html", "outside the site"),
    ("/tmp/evil.html", "absolute path"),
])
def test_a_tar_name_stepping_outside_is_refused(name, reason, dest, tmp_path):
    data = make_tar([tar_file("index.html", b"ok"), tar_file(name, b"evil")])
    with pytest.raises(ArchiveError, match=reason):
        unpack(data, LIMITS, dest)
    assert everything_under(tmp_path) == ["site"]


def test_a_symlink_in_a_zip_is_refused(dest):
    link = zipfile.ZipInfo("passwd.html")
    link.external_attr = (0o120777 << 16)
    with pytest.raises(ArchiveError, match="symbolic link"):
        unpack(make_zip({"index.html": b"ok", link: b"/etc/passwd"}), LIMITS, dest)
    assert everything_under(dest) == []


@pytest.mark.parametrize("kind, reason", [
    (tarfile.SYMTYPE, "is a link"), (tarfile.LNKTYPE, "is a link"),
    (tarfile.CHRTYPE, "not a regular file"), (tarfile.FIFOTYPE, "not a regular file"),
])
def test_links_devices_and_fifos_in_a_tar_are_refused(kind, reason, dest):
    odd = tarfile.TarInfo("odd.html")
    odd.type, odd.linkname = kind, "/etc/passwd"
    with pytest.raises(ArchiveError, match=reason):
        unpack(make_tar([tar_file("index.html", b"ok"), (odd, None)]), LIMITS, dest)
    assert everything_under(dest) == []


def test_ten_thousand_tiny_files_are_refused():
    data = make_zip({f"f{i}.txt": b"" for i in range(10_000)})
    with pytest.raises(ArchiveError, match="more than 100 files"):
        unpack(data, LIMITS)


def gigabyte_of_zeros_zip():
    """A zip whose one file inflates to 1 GiB, built by streaming zeros through the
    compressor: about 1 MB in memory, never 1 GB."""
    out = io.BytesIO()
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("bomb.html", "w", force_zip64=True) as member:
            for _ in range(1024):
                member.write(zeros)
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb():
    return gigabyte_of_zeros_zip()


def test_a_zip_bomb_is_refused_before_inflating(bomb, dest):
    assert len(bomb) < 5 * 1024 * 1024
    with pytest.raises(ArchiveError, match="larger than|inflates more than"):
        unpack(bomb, LIMITS, dest)
    assert everything_under(dest) == []


def test_a_zip_bomb_that_lies_about_its_size_is_stopped_while_inflating(bomb, dest):
    """The central directory says 10 bytes; counting the real bytes stops it."""
    liar = bomb.replace((1024 ** 3).to_bytes(8, "little"), (10).to_bytes(8, "little"))
    assert liar != bomb
    with pytest.raises(ArchiveError, match="larger than|inflates more than|could not be read"):
        unpack(liar, LIMITS, dest)


def test_a_compression_ratio_past_the_limit_is_refused():
    data = make_zip({"index.html": bytes(3 * 1024 * 1024)})
    with pytest.raises(ArchiveError, match="100-fold"):
        unpack(data, LIMITS)


def test_a_file_past_the_per_file_limit_is_refused():
    small = Limits(max_files=10, max_total_bytes=100, max_file_bytes=10, max_ratio=1000)
    with pytest.raises(ArchiveError, match="big.html is larger than"):
        unpack(make_tar([tar_file("big.html", b"x" * 11)]), small)


def test_a_non_utf8_name_in_a_zip_is_refused():
    data = make_zip({"cafX.html": b"x"})  # ASCII: no UTF-8 flag
    data = data.replace(b"cafX", b"caf\xe9")  # the name in latin-1, as old tools write
    with pytest.raises(ArchiveError, match="not UTF-8"):
        unpack(data, LIMITS)


def test_a_non_utf8_name_in_a_tar_is_refused():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.GNU_FORMAT,
                      encoding="latin-1") as archive:
        info = tarfile.TarInfo("caf\u00e9.html")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ArchiveError, match="not UTF-8"):
        unpack(out.getvalue(), LIMITS)


def test_a_file_that_is_also_a_folder_is_refused():
    with pytest.raises(ArchiveError, match="both a file and a folder"):
        unpack(make_zip({"a": b"1", "a/b.html": b"2"}), LIMITS)


def test_something_else_is_refused_by_its_bytes():
    with pytest.raises(ArchiveError, match="not a .zip or .tar.gz"):
        unpack(b"<html>not an archive</html>", LIMITS)
