"""HTTPS for a LAN trial: browsers give camera and microphone only to secure pages.

A page from ``http://192.168.1.10:8080`` is not a secure context, so Chrome
refuses it the camera; ``http://127.0.0.1`` would be, but the community PCs
reach the street office's server over the LAN. ``yizhan make-cert --host
192.168.1.10`` (or ``yizhan serve --self-signed``) writes a self-signed
certificate without a CA, naming the server's LAN addresses and host names,
under ``var/tls/`` (the key with mode 600); each community PC trusts it once
(README, "HTTPS"). A certificate that still names every requested host and
has more than :data:`RENEW_BEFORE` left is kept, so that PCs which trust it
go on trusting it. For a real deployment put a certificate from the
district's CA (or a TLS proxy, see ``docker-compose.yml``) in front instead.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import ifaddr  # comes with aiortc (through aioice), which lists interfaces the same way
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
VALIDITY = timedelta(days=397)  # browsers refuse server certificates that live longer
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True, kw_only=True, slots=True)
class CertFiles:
    cert: Path
    key: Path
    hosts: tuple[str, ...]  # the names and addresses the certificate is valid for
    not_after: datetime
    spki_sha256: str  # base64, for Chromium's --ignore-certificate-errors-spki-list
    sha256_fingerprint: str  # AA:BB:..., as Chrome's certificate viewer shows it
    sha1_thumbprint: str  # aabb..., as Windows' certificate dialog shows it


def tls_dir(var_dir: Path) -> Path:
    return var_dir / "tls"


def local_names() -> list[str]:
    """This machine's host name, ``localhost`` and its IPv4 addresses (loopback included)."""
    names = [socket.gethostname(), "localhost"]
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and ip.ip not in names:
                names.append(ip.ip)
    return names


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _hosts_of(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return (*san.get_values_for_type(x509.DNSName), *ips)


def _describe(cert_path: Path, key_path: Path, cert: x509.Certificate) -> CertFiles:
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertFiles(
        cert=cert_path, key=key_path, hosts=_hosts_of(cert), not_after=cert.not_valid_after_utc,
        spki_sha256=base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii"),
        sha256_fingerprint=":".join(fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2)),
        sha1_thumbprint=cert.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - a name, not a MAC
    )


def read_cert(cert_path: Path, key_path: Path) -> CertFiles:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return _describe(cert_path, key_path, cert)


def _normalised(hosts: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for host in hosts:
        host = host.strip().lower()
        if not host:
            continue
        with contextlib.suppress(ValueError):  # one spelling per address (IPv6 above all)
            host = str(ipaddress.ip_address(host))
        if host not in seen:
            seen.append(host)
    return seen


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only (also when the file already exists)."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    temporary.replace(path)


def make_self_signed(
    directory: Path, hosts: Sequence[str], *, now: datetime, force: bool = False
) -> CertFiles:
    """A certificate for ``hosts`` in ``directory``: the one there if it still fits, else new."""
    wanted = _normalised(hosts)
    if not wanted:
        raise ValueError("name at least one host name or address for the certificate")
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    if not force and cert_path.is_file() and key_path.is_file():
        current = read_cert(cert_path, key_path)
        covered = {h.lower() for h in current.hosts}
        if set(wanted) <= covered and current.not_after - now > RENEW_BEFORE:
            return current
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, wanted[0]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Yizhan (self-signed, LAN trial)"),
    ])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))  # PCs whose clocks run a little slow
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in wanted]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    cert_path.chmod(0o644)
    return _describe(cert_path, key_path, cert)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The TLS context ``yizhan serve`` listens with."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
