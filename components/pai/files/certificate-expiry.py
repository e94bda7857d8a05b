"""Writes when each of the cluster's certificates expires, for node-exporter's textfile collector.

    certificate-expiry.py OUTPUT NAME=PATH...

OUTPUT gets openpai_certificate_not_after_seconds{certificate="NAME"} (Unix time) for each PEM
certificate file, and openpai_certificate_check_success{certificate="NAME"} 1 or 0 (0: missing or
unreadable). Written to a temporary file and renamed, so the collector never reads half a file.
Python 3.5+ standard library only (job-exporter's image): the certificate's DER is read with a
minimal ASN.1 walk, since the ssl module parses only certificates of live connections.
"""
import base64
import calendar
import os
import re
import sys
import time

PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.S)


def tlv(der, offset):
    """The tag, the start of the content and the offset after one DER element."""
    tag = der[offset]
    length = der[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[start:start + count], "big")
        start += count
    return tag, start, start + length


def not_after(der):
    """Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serial, signature,
    issuer, validity SEQUENCE { notBefore, notAfter }, ... } } (RFC 5280 section 4.1)."""
    _, certificate, _ = tlv(der, 0)
    _, field, _ = tlv(der, certificate)
    tag, _, end = tlv(der, field)
    if tag == 0xA0:  # the explicit version
        field = end
    for _ in range(3):  # serialNumber, signature, issuer
        _, _, field = tlv(der, field)
    _, validity, _ = tlv(der, field)
    _, _, after_not_before = tlv(der, validity)
    tag, start, end = tlv(der, after_not_before)
    text = der[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ, years 1950-2049
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    return calendar.timegm(time.strptime(text, "%Y%m%d%H%M%SZ"))


def main(output, certificates):
    lines = [
        "# HELP openpai_certificate_not_after_seconds When the certificate expires (Unix time).",
        "# TYPE openpai_certificate_not_after_seconds gauge",
    ]
    checks = [
        "# HELP openpai_certificate_check_success Whether the certificate file could be read.",
        "# TYPE openpai_certificate_check_success gauge",
    ]
    for entry in certificates:
        name, path = entry.split("=", 1)
        try:
            with open(path, "rb") as pem:
                der = base64.b64decode(b"".join(PEM.search(pem.read()).group(1).split()))
            expiry = not_after(der)
            lines.append('openpai_certificate_not_after_seconds{certificate="%s"} %d' % (name, expiry))
            checks.append('openpai_certificate_check_success{certificate="%s"} 1' % name)
            print("%s expires %s" % (name, time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expiry))))
        except (OSError, AttributeError, ValueError, IndexError) as error:
            checks.append('openpai_certificate_check_success{certificate="%s"} 0' % name)
            print("%s: cannot read it: %s" % (name, error))
    temporary = output + ".tmp"
    with open(temporary, "w") as out:
        out.write("\n".join(lines + checks) + "\n")
    os.rename(temporary, output)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
