"""A local TLS identity for the replay server: a throwaway CA and a certificate it signs.

Some clients insist on TLS: google-genai turns any base URL into `wss://` when an API key
is set. Trust the CA for the test process only, never the machine::

    SSL_CERT_FILE=/tmp/chunktape-tls/ca.pem python -m pytest ...
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass

from chunktape.errors import ChunktapeError

_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class LocalTLS:
    """PEM files: the CA to trust (`ca_path`), and the server's certificate and key."""

    ca_path: str
    cert_path: str
    key_path: str


def local_tls(directory: str) -> LocalTLS:
    """The identity in `directory`, made there (with a new CA) unless it already is."""
    paths = LocalTLS(*(os.path.join(directory, name) for name in ("ca.pem", "cert.pem", "key.pem")))
    if all(os.path.exists(path) for path in (paths.ca_path, paths.cert_path, paths.key_path)):
        return paths
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise ChunktapeError("TLS needs the cryptography package: pip install 'chunktape[tls]'") from None
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chunktape local replay CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    names: list[x509.GeneralName] = [
        x509.DNSName(host) if host == "localhost" else x509.IPAddress(ipaddress.ip_address(host)) for host in _HOSTS
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    with open(paths.ca_path, "wb") as handle:
        handle.write(ca.public_bytes(pem))
    with open(paths.cert_path, "wb") as handle:
        handle.write(cert.public_bytes(pem))
    with open(paths.key_path, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths
