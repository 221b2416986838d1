"""The form's URL check and the fetcher agree on every spelling of an address.

A generated corpus writes addresses every way the C library reads them (dotted, short
forms, decimal, octal, hex, mixed, trailing dots, full-width digits, IPv6 embeddings) and
proves that check_url (the form, no network) refuses exactly what the fetcher's own
resolution and check refuse, and that every spelling of a forbidden address is refused.
No DNS is asked: a lookup that is not numeric fails the test's guard.
"""
import ipaddress
import itertools
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sites import fetch
from sites.fetch import FetchError, check_url

FORBIDDEN = ["127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.5.4", "192.168.0.1",
             "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
             "192.0.0.1", "192.0.2.1", "198.18.0.1", "240.0.0.1"]
ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "203.0.114.1"]
REAL_GETADDRINFO = socket.getaddrinfo


class NeedsDNS(Exception):
    """The fetcher would have asked DNS: the host is a name to it."""


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        try:
            return REAL_GETADDRINFO(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                    socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise NeedsDNS(host) from None

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _part(value, style):
    return {"dec": str(value), "oct": f"0{value:o}", "hex": f"0x{value:x}",
            "HEX": f"0X{value:X}", "pad": f"{value:03d}" if value < 8 else str(value)}[style]


def ipv4_spellings(text, styles=("dec", "oct", "hex")):
    """Every way inet_aton reads this address: 4, 3, 2 or 1 parts, each in any base."""
    a, b, c, d = ipaddress.IPv4Address(text).packed
    shapes = [[a, b, c, d], [a, b, (c << 8) | d], [a, (b << 16) | (c << 8) | d],
              [int(ipaddress.IPv4Address(text))]]
    for parts in shapes:
        for chosen in itertools.product(styles, repeat=len(parts)):
            yield ".".join(_part(value, style) for value, style in zip(parts, chosen))


def ipv6_embeddings(text):
    ip = ipaddress.IPv4Address(text)
    high, low = int(ip) >> 16, int(ip) & 0xFFFF
    yield from (f"[::ffff:{ip}]", f"[::FFFF:{high:x}:{low:x}]", f"[0:0:0:0:0:ffff:{ip}]",
                f"[0000:0000:0000:0000:0000:ffff:{high:04x}:{low:04x}]", f"[::{ip}]",
                f"[64:ff9b::{ip}]", f"[64:ff9b:1::{ip}]", f"[2002:{high:x}:{low:x}::]",
                f"[2002:{high:x}:{low:x}::1]", f"[::ffff:0:{ip}]")


def spellings(text):
    for host in ipv4_spellings(text):
        yield from (host, host + ".")
    yield from ("{}.{}.{}.{}".format(*ipaddress.IPv4Address(text).packed) + ".",
                text.translate(str.maketrans("0123456789.", "０１２３４５６７８９。")))
    yield from ipv6_embeddings(text)


def verdicts(host):
    """(form refuses, fetcher refuses, fetcher needs DNS) for http://<host>:8080/x."""
    url = f"http://{host}:8080/x"
    try:
        check_url(url)
        form = False
    except FetchError:
        form = True
    try:
        fetch._resolve(fetch._parse(url), allow_private=False)
        fetcher, needs_dns = False, False
    except FetchError:
        fetcher, needs_dns = True, False
    except NeedsDNS:
        fetcher, needs_dns = False, True
    return form, fetcher, needs_dns


CORPUS = sorted({(host, text) for text in FORBIDDEN + ALLOWED for host in spellings(text)})


def test_the_corpus_is_large_and_numeric():
    assert len(CORPUS) > 3000
    assert not [host for host, _ in CORPUS if verdicts(host)[2]]  # no DNS needed for any


@pytest.mark.parametrize("text", FORBIDDEN + ALLOWED)
def test_form_and_fetcher_agree_on_every_spelling(text):
    forbidden = text in FORBIDDEN
    wrong = []
    for host, _ in (item for item in CORPUS if item[1] == text):
        form, fetcher, _ = verdicts(host)
        # IPv6 forms of a global address may be refused for the IPv6 range they are in.
        if form != fetcher or (forbidden and not form) or (
                not forbidden and form and not host.startswith("[")):
            wrong.append((host, form, fetcher))
    assert wrong == []


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f.1", "0177.0.0.1",
                                  "169.254.169.254.", "0xa9.0xfe.0xa9.0xfe", "[::ffff:127.0.0.1]",
                                  "[::ffff:7f00:1]", "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::]",
                                  "localhost.", "x.localhost.", "１２７。０。０。１"])
def test_the_form_refuses_known_spellings(host):
    with pytest.raises(FetchError, match="refused"):
        check_url(f"http://{host}/")


@settings(max_examples=300, deadline=None)
@given(number=st.integers(0, 2**32 - 1), styles=st.lists(
    st.sampled_from(["dec", "oct", "hex", "HEX", "pad"]), min_size=1, max_size=3),
       dot=st.booleans())
def test_form_and_fetcher_agree_on_random_addresses(number, styles, dot):
    text = str(ipaddress.IPv4Address(number))
    forbidden = fetch._refused(ipaddress.IPv4Address(number), allow_private=False)
    for host in itertools.islice(ipv4_spellings(text, tuple(styles)), 40):
        form, fetcher, needs_dns = verdicts(host + ("." if dot else ""))
        assert (form, fetcher, needs_dns) == (forbidden, forbidden, False), host
