"""HTTPS: the LAN certificate, the TLS settings, and `yizhan serve --self-signed` answering.

The browser side (a page from a non-loopback HTTPS origin gets the camera, one over plain
HTTP does not) is tests/browser/test_room_network.py.
"""

from __future__ import annotations

import base64
import hashlib
import http.cookies
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from server import cli
from server.core.config import ConfigError, settings_from_env
from server.edge import tls
from tests.support.live import free_port

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def san(path: Path) -> tuple[list[str], list[str]]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return (names.get_values_for_type(x509.DNSName),
            [str(ip) for ip in names.get_values_for_type(x509.IPAddress)])


def test_a_self_signed_certificate_names_the_lan_addresses(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "tls"
    files = tls.make_self_signed(directory, ["192.168.1.10", "Yizhan.LAN", " 192.168.1.10"],
                                 now=NOW)
    assert (files.cert, files.key) == (directory / "cert.pem", directory / "key.pem")
    assert files.key.stat().st_mode & 0o777 == 0o600
    assert san(files.cert) == (["yizhan.lan"], ["192.168.1.10"])
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert cert.issuer == cert.subject  # self-signed, no CA
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert cert.not_valid_after_utc - NOW <= timedelta(days=398)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert files.spki_sha256 == base64.b64encode(hashlib.sha256(spki).digest()).decode()
    assert len(files.sha256_fingerprint.split(":")) == 32
    # Python's own TLS accepts it as a server certificate, trusting it directly.
    context = ssl.create_default_context(cafile=str(files.cert))
    assert context.cert_store_stats()["x509"] == 1
    tls.server_context(files.cert, files.key)


def test_a_fitting_certificate_is_kept_and_one_that_does_not_is_replaced(tmp_path: Path) -> None:
    first = tls.make_self_signed(tmp_path, ["192.168.1.10", "yizhan.lan"], now=NOW)
    again = tls.make_self_signed(tmp_path, ["192.168.1.10"], now=NOW + timedelta(days=300))
    assert again.spki_sha256 == first.spki_sha256  # PCs that trust it go on trusting it
    wider = tls.make_self_signed(tmp_path, ["192.168.1.10", "10.0.0.5"], now=NOW)
    assert wider.spki_sha256 != first.spki_sha256
    assert san(wider.cert)[1] == ["192.168.1.10", "10.0.0.5"]
    late = tls.make_self_signed(tmp_path, ["10.0.0.5"], now=NOW + timedelta(days=380))
    assert late.spki_sha256 != wider.spki_sha256  # less than 30 days left: renewed
    forced = tls.make_self_signed(tmp_path, ["10.0.0.5"], now=NOW, force=True)
    assert forced.spki_sha256 != late.spki_sha256
    with pytest.raises(ValueError, match="host"):
        tls.make_self_signed(tmp_path, [" "], now=NOW)


def test_local_names_include_loopback_and_the_host_name() -> None:
    names = tls.local_names()
    assert "localhost" in names and "127.0.0.1" in names
    assert all(ip_address(n) for n in names if n[0].isdigit())


def test_tls_settings_and_secure_cookies(tmp_path: Path) -> None:
    files = tls.make_self_signed(tmp_path / "tls", ["127.0.0.1"], now=NOW)
    env = {"YIZHAN_VAR_DIR": str(tmp_path), "YIZHAN_SECRET_KEY": "k" * 40}
    plain = settings_from_env(env)
    assert (plain.tls, plain.cookie_secure) == (False, False)
    with_tls = {**env, "YIZHAN_TLS_CERT": str(files.cert), "YIZHAN_TLS_KEY": str(files.key)}
    secure = settings_from_env(with_tls)
    assert (secure.tls, secure.tls_cert, secure.cookie_secure) == (True, files.cert, True)
    assert settings_from_env({**with_tls, "YIZHAN_COOKIE_SECURE": "false"}).cookie_secure is False
    # Behind a TLS proxy the app speaks plain HTTP but its cookies must be secure.
    assert settings_from_env({**env, "YIZHAN_COOKIE_SECURE": "true"}).cookie_secure is True
    with pytest.raises(ConfigError, match="both"):
        settings_from_env({**env, "YIZHAN_TLS_CERT": str(files.cert)})
    with pytest.raises(ConfigError, match="no such file"):
        settings_from_env({**with_tls, "YIZHAN_TLS_KEY": str(tmp_path / "missing.pem")})


def test_make_cert_prints_what_to_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YIZHAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("YIZHAN_SECRET_KEY", "k" * 40)
    assert cli.main(["make-cert", "--host", "192.168.1.10", "--host", "yizhan.lan"]) == 0
    out = capsys.readouterr().out
    files = tls.read_cert(tmp_path / "var" / "tls" / "cert.pem",
                          tmp_path / "var" / "tls" / "key.pem")
    assert files.sha256_fingerprint in out
    assert "yizhan.lan, 192.168.1.10" in out
    assert f"YIZHAN_TLS_CERT={files.cert}" in out


def test_serve_self_signed_answers_over_https_with_secure_cookies(tmp_path: Path) -> None:
    port = free_port()
    var = tmp_path / "var"
    env = {**os.environ, "YIZHAN_PORT": str(port), "YIZHAN_VAR_DIR": str(var),
           "YIZHAN_RUN_SCHEDULER": "false", "YIZHAN_LOG_LEVEL": "WARNING"}
    for name in ("YIZHAN_DATABASE_URL", "YIZHAN_SECRET_KEY", "YIZHAN_TLS_CERT", "YIZHAN_TLS_KEY",
                 "YIZHAN_COOKIE_SECURE"):
        env.pop(name, None)
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--self-signed", "--cert-host", "127.0.0.1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        cert = var / "tls" / "cert.pem"
        body, cookie = None, None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                context = ssl.create_default_context(cafile=str(cert))
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", timeout=2,
                                            context=context) as r:
                    body = json.loads(r.read())
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/login", timeout=2,
                                            context=context) as r:
                    cookie = r.headers.get("Set-Cookie")
                break
            except (OSError, ssl.SSLError):
                time.sleep(0.3)
        log.seek(0)
        output = log.read()
        assert body is not None and body["status"] == "ok", output
        assert f"Yizhan serving on https://127.0.0.1:{port}" in output
        assert (var / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
        assert cookie is not None
        (morsel,) = http.cookies.SimpleCookie(cookie).values()
        assert morsel["secure"] is True
        with pytest.raises(OSError):  # plain HTTP is not served on that port
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
