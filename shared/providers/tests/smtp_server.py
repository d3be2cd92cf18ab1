"""A local SMTP server for the SMTP provider's tests (aiosmtpd, PyPI).

Usage: smtp_server.py <directory>

Makes a throw-away CA and a certificate for 127.0.0.1 signed by it, then
serves three SMTP servers on free ports of 127.0.0.1: one that requires
STARTTLS and then AUTH (user `mailer`, password `pw-test`), one speaking TLS
from the first byte (SMTPS) with the same AUTH, and a plain one without TLS
or AUTH. Prints one JSON line {"starttls": port, "implicit": port, "plain":
port, "ca": path} and appends each message received to <directory>/messages.jsonl
as {"port", "mail_from", "rcpt_tos", "auth_user", "data"}. Runs until killed.
"""

import datetime
import ipaddress
import json
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = b"mailer", b"pw-test"


def certificates(directory):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "switchyard test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {name: os.path.join(directory, name) for name in ("ca.pem", "cert.pem", "key.pem")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert.pem"], "wb") as f:
        f.write(leaf.public_bytes(serialization.Encoding.PEM))
    with open(paths["key.pem"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self, path, port):
        self.path, self.port = path, port

    async def handle_DATA(self, server, session, envelope):
        user = session.auth_data.login.decode() if session.auth_data else None
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({
                "port": self.port, "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "auth_user": user, "data": envelope.content.decode("utf-8", "replace"),
            }) + "\n")
        return "250 Message accepted"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER and auth_data.password == PASSWORD
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def main():
    directory = sys.argv[1]
    paths = certificates(directory)
    messages = os.path.join(directory, "messages.jsonl")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(paths["cert.pem"], paths["key.pem"])
    starttls, implicit, plain = free_port(), free_port(), free_port()
    secure = Controller(Recorder(messages, starttls), hostname="127.0.0.1", port=starttls,
                        tls_context=context, require_starttls=True, auth_require_tls=True,
                        authenticator=authenticate)
    smtps = Controller(Recorder(messages, implicit), hostname="127.0.0.1", port=implicit,
                       ssl_context=context, authenticator=authenticate,
                       # aiosmtpd counts only STARTTLS as TLS; this socket is TLS throughout.
                       auth_require_tls=False)
    open_relay = Controller(Recorder(messages, plain), hostname="127.0.0.1", port=plain,
                            auth_require_tls=False)
    secure.start()
    smtps.start()
    open_relay.start()
    print(json.dumps({"starttls": starttls, "implicit": implicit, "plain": plain, "ca": paths["ca.pem"]}),
          flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        secure.stop()
        smtps.stop()
        open_relay.stop()


if __name__ == "__main__":
    main()
