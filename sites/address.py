"""A site's public address: the host label its URL starts with, made once from the
site's name and its owner's username (`blog--alice`), so people can read it.

The label is stored on the site and never recomputed: a rename or a change of username
does not move a published site. It is unique over every site ever made, deleted ones
included, so an address once given never serves another site, least of all another
user's. The stack (and so the Pulumi state) stays named from stable ids; only the label
a browser sees comes from free text. Plain functions, no Django."""
import re
import secrets
import string

MAX_LENGTH = 63  # one DNS label
SUFFIX_LENGTH = 4  # "-k3x9" when the plain label is taken
_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")
_ALPHABET = string.ascii_lowercase + string.digits


def _part(text, fallback):
    """Lowercase letters, digits and single hyphens; `fallback` if nothing is left."""
    return _NOT_ALLOWED.sub("-", text.lower()).strip("-") or fallback


def label(name, username, suffix=""):
    """`<name>--<username>[-<suffix>]`, at most 63 characters of [a-z0-9-], never
    starting or ending with a hyphen (the origin's LABEL accepts it)."""
    tail = f"-{suffix}" if suffix else ""
    base = f"{_part(name, 'site')[:40].rstrip('-')}--{_part(username, 'user')[:20].rstrip('-')}"
    if base.startswith("xn--"):  # browsers would read it as an IDN's punycode
        base = f"site-{base}"
    return base[:MAX_LENGTH - len(tail)].rstrip("-") + tail


def random_suffix():
    return "".join(secrets.choice(_ALPHABET) for _ in range(SUFFIX_LENGTH))


def candidates(name, username, tries=8):
    """The plain label first, then ones with a random suffix."""
    yield label(name, username)
    for _ in range(tries - 1):
        yield label(name, username, random_suffix())
