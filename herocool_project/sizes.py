"""Sizes said exactly: "1,048,576 bytes (1 MiB)", never a rounded "1.0 MB" (no Django)."""

UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def exact_bytes(count):
    """The count in bytes, with its binary unit when it is a whole number of one."""
    text = f"{count:,} bytes" if count != 1 else "1 byte"
    for unit, scale in UNITS:
        if count >= scale and count % scale == 0:
            return f"{text} ({count // scale:,} {unit})"
    return text
