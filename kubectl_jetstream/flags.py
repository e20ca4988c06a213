"""The flags every command accepts (NATS connection, Kubernetes, -v, -f), with their NATS_* environment
defaults. Here rather than in cli.py so that a command (job) can build a parser without importing cli."""
import argparse
import os

from .parsers import options


def env_default(*names):
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def add_common_arguments(parser, suppress):
    """Flags every command accepts. With `suppress`, an absent flag leaves the value set before the
    subcommand alone (argparse would otherwise overwrite it with the subparser's default)."""

    def default(value):
        return argparse.SUPPRESS if suppress else value

    general = parser.add_argument_group("general")
    general.add_argument("-v", "--verbose", action="count", default=default(0),
                         help="say which path to NATS was taken; repeat for tracebacks and API detail")
    general.add_argument("-f", "--filename", action="append", metavar="PATH", default=default(None),
                         help="stream definition file or folder (repeatable; default ./streams.d)")

    nats = parser.add_argument_group("NATS connection")
    nats.add_argument("--nats-url", metavar="URL", default=default(env_default("NATS_URL")),
                      help="connect directly to this NATS server, or a comma-separated list of them (env NATS_URL); "
                           "skips Kubernetes")
    nats.add_argument("--creds", metavar="FILE", default=default(env_default("NATS_CREDS")),
                      help="NATS user credentials file (env NATS_CREDS)")
    nats.add_argument("--nkey", metavar="FILE", default=default(env_default("NATS_NKEY")),
                      help="NATS NKey seed file (env NATS_NKEY)")
    nats.add_argument("--nats-user", metavar="USER", default=default(env_default("NATS_USER")),
                      help="NATS user name (env NATS_USER); --user is kubectl's kubeconfig user")
    nats.add_argument("--password", metavar="PASSWORD", default=default(env_default("NATS_PASSWORD")),
                      help="NATS password (env NATS_PASSWORD)")
    nats.add_argument("--token", metavar="TOKEN", default=default(env_default("NATS_TOKEN")),
                      help="NATS authentication token (env NATS_TOKEN)")
    nats.add_argument("--tls-ca", metavar="FILE", default=default(env_default("NATS_CA")),
                      help="CA certificate to verify the NATS server (env NATS_CA)")
    nats.add_argument("--tls-cert", metavar="FILE", default=default(env_default("NATS_CERT")),
                      help="client certificate for NATS TLS (env NATS_CERT)")
    nats.add_argument("--tls-key", metavar="FILE", default=default(env_default("NATS_KEY")),
                      help="client key for NATS TLS (env NATS_KEY)")
    nats.add_argument("--js-domain", metavar="DOMAIN", default=default(env_default("NATS_JS_DOMAIN")),
                      help="JetStream domain: API requests go to $JS.DOMAIN.API (env NATS_JS_DOMAIN)")
    nats.add_argument("--timeout", metavar="DURATION", default=default(env_default("NATS_TIMEOUT")),
                      help="connect and per-request timeout (default 5s, env NATS_TIMEOUT); "
                           "for `wait`, the whole wait (default 60s)")

    kube = parser.add_argument_group("Kubernetes")
    kube.add_argument("-n", "--namespace", default=default(None),
                      help="namespace of the NATS Service (default: the context's, else default)")
    kube.add_argument("--context", default=default(None), help="kubeconfig context to use")
    kube.add_argument("--kubeconfig", metavar="FILE", default=default(None),
                      help="kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
    kube.add_argument("--cluster", default=default(None), help="kubeconfig cluster to use")
    kube.add_argument("--user", default=default(None), help="kubeconfig user to use")
    kube.add_argument("--request-timeout", metavar="DURATION", default=default(None),
                      help="timeout for Kubernetes API requests (e.g. 10s; default none)")
    kube.add_argument("--service", metavar="NAME", default=default(None),
                      help="NATS Service name (default: discovered in the namespace)")
    kube.add_argument("--port", metavar="PORT", default=default(None),
                      help="NATS Service port, name or number (default: port named nats or client, else 4222)")
    kube.add_argument("--creds-secret", metavar="NAME[/KEY]", default=default(None),
                      help="read NATS credentials from this Secret (default key nats.creds)")
    kube.add_argument("--token-secret", metavar="NAME[/KEY]", default=default(None),
                      help="read a NATS token from this Secret (default key token)")
    kube.add_argument("--user-secret", metavar="NAME", default=default(None),
                      help="read NATS username/password keys from this Secret")


def common_dests():
    """The argparse dests of the shared flags."""
    probe = argparse.ArgumentParser(add_help=False)
    add_common_arguments(probe, suppress=False)
    return [a.dest for a in options(probe)]


# Flags whose values are secrets (a NATS URL may hold user:password@): never quoted back in a usage error.
SECRET_FLAGS = ("--password", "--token", "--nats-url")


def secret_flag(word):
    """The secret-bearing flag `word` names, also abbreviated as argparse accepts it (`--passw`), else None."""
    if not word.startswith("--") or len(word) < 4:
        return None
    return next((flag for flag in SECRET_FLAGS if flag.startswith(word)), None)


def redacted_words(argv, shown=lambda flag, value: "***"):
    """(the words of a command line with each secret-bearing flag's value replaced by `shown(flag, value)`,
    the values replaced): `--token X` and `--tok=X` alike."""
    words, hidden, pending = [], [], None
    for word in argv:
        flag, eq, value = word.partition("=")
        if pending:
            words.append(shown(pending, word))
            hidden.append(word)
        elif eq and secret_flag(flag):
            words.append(f"{flag}={shown(secret_flag(flag), value)}")
            hidden.append(value)
        else:
            words.append(word)
        pending = None if eq else secret_flag(word)
    return words, [value for value in hidden if value]


def hide_secrets(text, argv):
    """`text` (argparse's message, which quotes words back: `ambiguous option: --tok=VALUE`) without the
    secret values of `argv`."""
    for value in sorted(redacted_words(argv)[1], key=len, reverse=True):
        text = text.replace(value, "***")
    return text

