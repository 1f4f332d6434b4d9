"""Text to SNMP strings: UTF-8 octets, cut at a character boundary to the object's size.

Every string the agent serves (sysName, ifAlias, BGP peer descriptions, ...) goes through
``display_string``. pysnmp would encode a Python ``str`` as Latin-1 and raise on anything
else, so one member called "Kōrero Café ☕ Ñandú" used to fail a whole table (issue 13).
DisplayString is formally ASCII, but every monitoring tool reads UTF-8 there, as net-snmp
serves it on Linux; SnmpAdminString is UTF-8 by definition (RFC 3411).

Sizes are in octets, as the MIBs count them, so a cut never splits a character.
"""

from __future__ import annotations

import unicodedata

from pysnmp.proto import rfc1902

DISPLAY_STRING = 255  # SNMPv2-TC DisplayString (SIZE (0..255)): sys*, ifDescr, ifName, ...
SNMP_ADMIN_STRING = 255  # SNMP-FRAMEWORK-MIB SnmpAdminString (SIZE (0..255)): BGP4V2 descr
IF_ALIAS = 64  # IF-MIB ifAlias: DisplayString (SIZE (0..64))
HR_DEVICE_DESCR = 64  # HOST-RESOURCES-MIB hrDeviceDescr: DisplayString (SIZE (0..64))
OCTET_STRING = 65535  # SMIv2's largest OCTET STRING (nsExtendOutputFull has no own limit)


def utf8_octets(text: str, limit: int = DISPLAY_STRING) -> bytes:
    """``text`` as UTF-8, at most ``limit`` octets, never ending inside a character.

    NFC first, so "o" + combining macron counts (and is cut) as the one character "ō".
    Lone surrogates (undecodable file names from the kernel) become "?".
    """
    raw = unicodedata.normalize("NFC", str(text)).encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw
    cut = max(limit, 0)
    while cut > 0 and raw[cut] & 0xC0 == 0x80:  # raw[cut] continues the character before it
        cut -= 1
    return raw[:cut]


def display_string(text: str, limit: int = DISPLAY_STRING) -> rfc1902.OctetString:
    """An OCTET STRING value (DisplayString, SnmpAdminString, ...) holding ``text``."""
    return rfc1902.OctetString(utf8_octets(text, limit))
