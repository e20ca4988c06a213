"""Just enough NATS decentralized auth for a test: operator / account / user nkeys and JWTs, signed with ed25519
through the openssl CLI (no nkeys package needed to *make* them), a creds file and the nats-server config."""
import base64
import json
import os
import secrets
import subprocess
import tempfile
import time

# nkeys prefix bytes (first base32 character: S, O, A, U)
PREFIX_SEED = 18 << 3
PREFIX_OPERATOR = 14 << 3
PREFIX_ACCOUNT = 0
PREFIX_USER = 20 << 3
PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")


def crc16(data):
    """CRC-16/XMODEM, as nkeys uses (appended little-endian)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _b32(raw):
    return base64.b32encode(raw + crc16(raw).to_bytes(2, "little")).decode().rstrip("=")


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class KeyPair:
    def __init__(self, prefix):
        self.prefix = prefix
        self.raw_seed = secrets.token_bytes(32)
        pub = self._openssl(["pkey", "-inform", "DER", "-in", "{key}", "-pubout", "-outform", "DER"])
        self.raw_public = pub[-32:]

    def _openssl(self, args, data=None):
        """openssl with the private key (and `data`) in files of a temporary folder removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="kjs-nkey-") as d:
            key, path = os.path.join(d, "key.der"), os.path.join(d, "data")
            with open(key, "wb") as f:
                f.write(PKCS8_ED25519 + self.raw_seed)
            if data is not None:
                with open(path, "wb") as f:
                    f.write(data)
            argv = ["openssl"] + [a.format(key=key, data=path) for a in args]
            return subprocess.run(argv, capture_output=True, check=True).stdout

    @property
    def public(self):
        return _b32(bytes([self.prefix]) + self.raw_public)

    @property
    def seed(self):
        b1 = PREFIX_SEED | (self.prefix >> 5)
        b2 = (self.prefix & 31) << 3
        return _b32(bytes([b1, b2]) + self.raw_seed)

    def sign(self, data):
        return self._openssl(["pkeyutl", "-sign", "-rawin", "-inkey", "{key}", "-keyform", "DER", "-in", "{data}"],
                             data)


def jwt(issuer, subject_public, name, nats):
    header = _b64url(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    claims = {"jti": base64.b32encode(secrets.token_bytes(20)).decode().rstrip("="), "iat": int(time.time()),
              "iss": issuer.public, "name": name, "sub": subject_public, "nats": dict(nats, version=2)}
    body = header + "." + _b64url(json.dumps(claims).encode())
    return body + "." + _b64url(issuer.sign(body.encode()))


UNLIMITED = {"subs": -1, "data": -1, "payload": -1}


class Operator:
    """An operator with one JetStream-enabled account and one user in it."""

    def __init__(self):
        self.operator = KeyPair(PREFIX_OPERATOR)
        self.account = KeyPair(PREFIX_ACCOUNT)
        self.system = KeyPair(PREFIX_ACCOUNT)  # JetStream needs a system account
        self.user = KeyPair(PREFIX_USER)
        self.operator_jwt = jwt(self.operator, self.operator.public, "e2e-operator", {"type": "operator"})
        self.account_jwt = jwt(self.operator, self.account.public, "e2e-account", {
            "type": "account",
            "limits": dict(UNLIMITED, imports=-1, exports=-1, wildcards=True, conn=-1, leaf=-1,
                           mem_storage=-1, disk_storage=-1, streams=-1, consumer=-1),
            "default_permissions": {"pub": {}, "sub": {}}})
        self.system_jwt = jwt(self.operator, self.system.public, "SYS", {
            "type": "account", "limits": dict(UNLIMITED, imports=-1, exports=-1, wildcards=True, conn=-1, leaf=-1),
            "default_permissions": {"pub": {}, "sub": {}}})
        self.user_jwt = jwt(self.account, self.user.public, "e2e-user",
                            dict(UNLIMITED, type="user", pub={}, sub={}))

    def server_config(self):
        return "\n".join([f"operator: {self.operator_jwt}", f"system_account: {self.system.public}",
                          "resolver: MEMORY", "resolver_preload: {", f"  {self.account.public}: {self.account_jwt}",
                          f"  {self.system.public}: {self.system_jwt}", "}"])

    def user_creds(self):
        return creds_text(self.user_jwt, self.user.seed)


def creds_text(user_jwt, seed):
    return (f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n"
            "NKEYs are sensitive and should be treated as secrets.\n\n"
            f"-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n"
            "*************************************************************\n")


def fake_creds():
    """A well-formed creds file (not accepted by any server)."""
    return Operator().user_creds()
