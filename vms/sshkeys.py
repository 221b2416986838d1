"""Validation of SSH public keys pasted by users (no Django, no crypto library needed).

An OpenSSH public key line is `type base64-blob [comment]`; the blob starts with the
type again, then the key's numbers, each length-prefixed. Reading the RSA modulus gives
the key size. A private key pasted by mistake is recognised and refused, and never
echoed, stored or logged.
"""
import base64
import binascii
import re
import struct

ALLOWED_TYPES = {
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "ssh-rsa",
}
MIN_RSA_BITS = 2048
PRIVATE_MARKERS = re.compile(r"PRIVATE KEY|PuTTY-User-Key-File|^b3BlbnNzaC1rZXktdjE", re.M)


class InvalidKey(ValueError):
    """The key is unusable; the message says why (and never contains the key)."""


class PrivateKeyPasted(InvalidKey):
    pass


def looks_private(text):
    return bool(PRIVATE_MARKERS.search(text or ""))


def normalize_public_key(text):
    """The key as one clean line `type blob [comment]`, or InvalidKey with a reason."""
    text = (text or "").strip()
    if looks_private(text):
        raise PrivateKeyPasted(
            "This is a PRIVATE key. Never share it: paste the PUBLIC key instead (the "
            "contents of the .pub file, e.g. ~/.ssh/id_ed25519.pub). The private key was "
            "not stored.")
    if not text:
        raise InvalidKey("Paste your SSH public key.")
    if "\n" in text:
        raise InvalidKey("Paste exactly one public key, on one line.")
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise InvalidKey("This is not an OpenSSH public key (expected 'type key comment').")
    key_type, blob = parts[0], parts[1]
    if key_type not in ALLOWED_TYPES:
        raise InvalidKey(f"Key type {key_type[:40]!r} is not accepted; use ssh-ed25519, "
                        "ecdsa or ssh-rsa (2048 bits or more).")
    fields = _fields(blob)
    if not fields or fields[0] != key_type.encode():
        raise InvalidKey("The key data does not match its type; copy the whole line again.")
    if key_type == "ssh-rsa":
        _check_rsa(fields)
    comment = parts[2].strip() if len(parts) > 2 else ""
    return " ".join(filter(None, [key_type, blob, comment[:100]]))


def _fields(blob):
    try:
        data = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return None
    fields = []
    while data:
        if len(data) < 4:
            return None
        (length,) = struct.unpack(">I", data[:4])
        if length > len(data) - 4:
            return None
        fields.append(data[4:4 + length])
        data = data[4 + length:]
    return fields


def _check_rsa(fields):
    if len(fields) != 3:
        raise InvalidKey("The RSA key data is damaged; copy the whole line again.")
    modulus = int.from_bytes(fields[2], "big")
    bits = modulus.bit_length()
    if bits < MIN_RSA_BITS:
        raise InvalidKey(f"This RSA key has {bits} bits; at least {MIN_RSA_BITS} are "
                        "required (or use ssh-ed25519).")
