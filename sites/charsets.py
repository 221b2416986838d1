"""Text from the bytes of a fetched page, decoded only with real text encodings.

The remote server names the charset, so the name is looked up in an allowlist of the
WHATWG Encoding Standard's labels (what browsers accept), never handed to Python's codec
registry, which also holds transforms such as unicode_escape, rot13, base64, zlib, hex,
uu, bz2 and utf-7. Anything else is read as UTF-8, with U+FFFD for what is not. The text
never holds what the database refuses (NUL) or cannot store (lone surrogates).
"""
import codecs
import re

_LABELS = {
    "utf-8": "utf-8 utf8 unicode-1-1-utf-8 unicode11utf8 unicode20utf8 x-unicode20utf8",
    "utf-16-le": "utf-16le utf-16 ucs-2 unicode csunicode iso-10646-ucs-2 unicodefeff",
    "utf-16-be": "utf-16be unicodefffe",
    "cp1252": "windows-1252 cp1252 x-cp1252 iso-8859-1 iso8859-1 iso_8859-1 iso88591 "
              "latin1 l1 ascii us-ascii ansi_x3.4-1968 cp819 ibm819 csisolatin1",
    "cp866": "ibm866 866 cp866 csibm866",
    "koi8_r": "koi8-r koi8_r koi8 koi cskoi8r",
    "koi8_u": "koi8-u koi8-ru",
    "mac_roman": "macintosh mac x-mac-roman csmacintosh",
    "mac_cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "cp874": "windows-874 dos-874 tis-620 iso-8859-11 iso8859-11 iso885911",
    "gb18030": "gb18030 gbk x-gbk gb2312 gb_2312 gb_2312-80 chinese csgb2312 iso-ir-58 "
               "csiso58gb231280",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "euc_jp": "euc-jp x-euc-jp cseucpkdfmtjapanese",
    "iso2022_jp": "iso-2022-jp csiso2022jp",
    "cp932": "shift_jis shift-jis sjis x-sjis ms_kanji ms932 windows-31j csshiftjis",
    "cp949": "euc-kr cseuckr windows-949 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 "
             "ksc_5601 csksc56011987 iso-ir-149",
}
CODEC_OF = {label: codec for codec, labels in _LABELS.items() for label in labels.split()}
for _n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16):
    for _label in (f"iso-8859-{_n}", f"iso8859-{_n}", f"iso_8859-{_n}", f"iso8859{_n}"):
        CODEC_OF[_label] = f"iso8859_{_n}"
for _n in range(1250, 1259):
    for _label in (f"windows-{_n}", f"cp{_n}", f"x-cp{_n}"):
        CODEC_OF[_label] = f"cp{_n}"
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"))
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def decode(body: bytes, label: str | None) -> str:
    """The page's text: a byte-order mark wins, then an allowlisted label, else UTF-8."""
    codec = next((name for bom, name in BOMS if body.startswith(bom)), None)
    codec = codec or CODEC_OF.get((label or "").strip().strip("\"'").lower(), "utf-8")
    return _UNSTORABLE.sub("\ufffd", body.decode(codec, "replace"))
