"""A real SMTP server on loopback for the `email` notifier's tests (aiosmtpd, in the test's
event loop): STARTTLS with a certificate authority and a server certificate made here, AUTH
with one user. Registered as a pytest plugin (tests/conftest.py): the fixtures `certificates`
and `smtp`."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import SECRETS

PASSWORD = "smtp-password-for-tests-9f8e7d"
SECRETS.append(PASSWORD)
USER = "status@acme.example"


# --- a certificate authority and the server's certificate, made for this test -------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    server: ssl.SSLContext


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str, key: Any, issuer: tuple[str, Any] | None, *, ca: bool
) -> x509.Certificate:
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        .not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    where = tmp_path_factory.mktemp("tls")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("incident-app test CA", ca_key, None, ca=True)
    leaf = _certificate("127.0.0.1", key, ("incident-app test CA", ca_key), ca=False)
    pem = serialization.Encoding.PEM
    (where / "ca.pem").write_bytes(ca.public_bytes(pem))
    (where / "server.pem").write_bytes(leaf.public_bytes(pem))
    (where / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(where / "server.pem", where / "server.key")
    return Certificates(where / "ca.pem", server)


# --- the SMTP server ------------------------------------------------------------------------


@dataclass
class Received:
    envelope: Envelope
    tls: bool
    user: str | None

    @property
    def message(self) -> EmailMessage:
        raw = self.envelope.original_content or b""
        return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


@dataclass
class Server:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        user = session.auth_data.login.decode() if session.auth_data else None
        self.received.append(Received(envelope, session.ssl is not None, user))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USER
            and data.password.decode() == PASSWORD
        )
        self.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "", ok))
        # `handled=False`: the server answers 535 itself (True means the hook did).
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


async def serve(server: Server, tls: ssl.SSLContext | None) -> asyncio.AbstractServer:
    loop = asyncio.get_running_loop()
    found = await loop.create_server(
        lambda: SMTP(
            server,
            hostname="mail.acme.example",
            tls_context=tls,
            require_starttls=tls is not None,
            authenticator=server.authenticate,
            auth_require_tls=tls is not None,
            loop=loop,
        ),
        "127.0.0.1",
        0,
    )
    server.port = found.sockets[0].getsockname()[1]
    return found


@pytest.fixture
def quiet_server_log() -> Iterator[None]:
    """aiosmtpd (the test's server, not the app) logs AUTH's answers at DEBUG."""
    server_log = logging.getLogger("mail.log")
    level = server_log.level
    server_log.setLevel(logging.INFO)
    yield
    server_log.setLevel(level)


@pytest.fixture
async def smtp(certificates: Certificates, quiet_server_log: None) -> AsyncIterator[Server]:
    server = Server()
    running = await serve(server, certificates.server)
    yield server
    running.close()
    await running.wait_closed()
