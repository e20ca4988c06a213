"""NATS credentials read from Kubernetes Secrets (--creds-secret, --token-secret, --user-secret). A value read
is never logged; a missing Secret or key names the flag, the Secret and the keys there are."""
import base64
import binascii

from ..errors import Unreachable, UsageError
from .api import RBAC_HINT, KubeAuthError


def split_secret_ref(ref, default_key, flag):
    name, _, key = ref.partition("/")
    if not name:
        raise UsageError(f"{flag}: expected NAME or NAME/KEY, got {ref!r}")
    return name, key or default_key


def _secret_value(kube, name, key, flag, secrets):
    """One key of a Secret, decoded; never logged. 404 -> exit 3 naming the Secret; 403 -> the permission."""
    if name not in secrets:
        try:
            secret = kube.get_secret(name)
        except KubeAuthError as exc:
            if "forbidden" in str(exc):
                raise KubeAuthError(f"forbidden: {flag} needs `get` on `secrets` in namespace {kube.namespace} "
                                    f"(Secret {name}); {RBAC_HINT}") from None
            raise
        if secret is None:
            raise Unreachable(f"{flag}: Secret {name} not found in namespace {kube.namespace}")
        secrets[name] = secret
    data = secrets[name].get("data") or {}
    string_data = secrets[name].get("stringData") or {}
    if key in data:
        try:
            raw = base64.b64decode(data[key], validate=True)
        except (binascii.Error, ValueError):
            raise Unreachable(f"{flag}: key {key} of Secret {name} is not valid base64") from None
    elif key in string_data:
        raw = string_data[key].encode()
    else:
        keys = ", ".join(sorted(data)) or "none"
        raise Unreachable(f"{flag}: Secret {name} in namespace {kube.namespace} has no key {key!r} "
                          f"(keys: {keys})")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreachable(f"{flag}: key {key} of Secret {name} is not UTF-8 text") from None


def read_credentials(kube, options):
    """NATS credentials from the Secrets KubeOptions names (--creds-secret, --token-secret, --user-secret), for
    the Endpoint."""
    found, secrets = {}, {}
    if options.creds_secret:
        name, key = split_secret_ref(options.creds_secret, "nats.creds", "--creds-secret")
        found["creds"] = _secret_value(kube, name, key, "--creds-secret", secrets)
        kube.log(f"NATS credentials from Secret {name} key {key}")
    if options.token_secret:
        name, key = split_secret_ref(options.token_secret, "token", "--token-secret")
        found["token"] = _secret_value(kube, name, key, "--token-secret", secrets).rstrip("\r\n")
        kube.log(f"NATS token from Secret {name} key {key}")
    if options.user_secret:
        name, _ = split_secret_ref(options.user_secret, "", "--user-secret")
        found["user"] = _secret_value(kube, name, "username", "--user-secret", secrets).rstrip("\r\n")
        found["password"] = _secret_value(kube, name, "password", "--user-secret", secrets).rstrip("\r\n")
        kube.log(f"NATS user and password from Secret {name}")
    return found
