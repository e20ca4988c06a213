"""job: print (never apply) a ConfigMap of the stream files and a Job that runs this tool inside the cluster.

    kubectl jetstream job init -n nats | kubectl apply -f -
    kubectl jetstream job purge AGENT_WORK --keep 100 -n nats | kubectl apply -f -

Everything after VERB is what you would give `kubectl jetstream VERB` (stream names, its flags); the job's
own flags (--image, --name, --service-account, --ttl, --backoff-limit, --restart-policy) go anywhere. The
ConfigMap holds every streams.d file verbatim (data keys are the file names) and is mounted at
/etc/jetstream/streams.d; the Job runs `kubectl-jetstream VERB ... -f /etc/jetstream/streams.d` with the
in-cluster service account, so it finds NATS as the plugin does (Service discovery; -n, --service, --port,
--timeout, --js-domain and the --*-secret flags are passed on; --kubeconfig/--context are not: they are this machine's).
Destructive verbs get --yes: there is no terminal in a Job, and writing the Job is the confirmation.
"""
import argparse
import contextlib
import importlib
import io
import json
import os
import re
from urllib.parse import urlsplit

from .. import __version__
from ..errors import UsageError
from ..output import to_yaml
from ..flags import add_common_arguments, common_dests, hide_secrets, redacted_words
from ..parsers import APPEND, COUNT, SWITCH, kind, options
from . import COMMANDS
from .common import select_specs, stream_names

IMAGE = f"ghcr.io/swe-ai-fleet/kubectl-jetstream:v{__version__}"
MOUNT = "/etc/jetstream/streams.d"
VERBS = ("init", "diff", "ls", "wait", "purge", "delete", "recreate")
DESTRUCTIVE = ("purge", "delete", "recreate")
CONFIGMAP_LIMIT = 1024 * 1024  # the API server refuses a bigger ConfigMap
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

# Flags that choose how the tool finds NATS from inside the cluster: passed on as given.
FORWARDED = (("service", "--service"), ("port", "--port"), ("creds_secret", "--creds-secret"),
             ("token_secret", "--token-secret"), ("user_secret", "--user-secret"), ("timeout", "--timeout"),
             ("request_timeout", "--request-timeout"), ("js_domain", "--js-domain"))
# Flags that cannot go into a Job: local files, or secrets that would be written into the Job spec.
NOT_FORWARDED = (("creds", "--creds", "--creds-secret"), ("nkey", "--nkey", "a --creds-secret"),
                 ("tls_ca", "--tls-ca", "a CA the pod trusts"), ("tls_cert", "--tls-cert", "--creds-secret"),
                 ("tls_key", "--tls-key", "--creds-secret"), ("token", "--token", "--token-secret"),
                 ("password", "--password", "--user-secret"), ("nats_user", "--nats-user", "--user-secret"))


# NACK connection settings that may name or hold credentials: never copied into the ConfigMap.
NACK_SECRET_KEYS = ("servers", "creds", "nkey", "tls")

JOB_OPTIONS = ("image", "name", "service_account", "ttl", "backoff_limit", "restart_policy")


def add_job_options(parser):
    parser.add_argument("--image", default=IMAGE, help=f"container image (default {IMAGE})")
    parser.add_argument("--name", default=None, help="name of the Job and its ConfigMap (default jetstream-VERB)")
    parser.add_argument("--service-account", metavar="NAME", default=None,
                        help="service account of the Job's pod (it needs the RBAC in docs/rbac.yaml)")
    parser.add_argument("--ttl", metavar="DURATION", default="1h",
                        help="delete the finished Job after DURATION (ttlSecondsAfterFinished; default 1h)")
    parser.add_argument("--backoff-limit", type=int, metavar="N", default=2,
                        help="retries before the Job is marked failed (default 2)")
    parser.add_argument("--restart-policy", choices=("Never", "OnFailure"), default="Never",
                        help="Never (default: a failed pod stays for its logs) or OnFailure")


def add_arguments(parser):
    parser.add_argument("verb", nargs="?", default="init", choices=VERBS, metavar="VERB",
                        help=f"the command the Job runs: {', '.join(VERBS)} (default init)")
    parser.add_argument("verb_args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="stream names and flags for VERB, as for `kubectl jetstream VERB`")
    add_job_options(parser)


def run(ctx, args):
    documents = job_documents(ctx, args)
    ctx.echo("---\n" + "---\n".join(to_yaml(d) for d in documents).rstrip("\n"))
    return 0


def _parse_quietly(parser, argv, known=False, verb=None):
    """argparse without its usage text: a SystemExit becomes a one-line UsageError (quoting `verb` before
    `argv` when the parser is a verb's)."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            return parser.parse_known_args(argv) if known else parser.parse_args(argv)
    except SystemExit:
        lines = stderr.getvalue().strip().splitlines()
        message = lines[-1].split(": error: ", 1)[-1] if lines else "usage error"
        words = [verb, *argv] if verb else argv
        raise UsageError(f"job: `{' '.join(_redacted(words))}`: {hide_secrets(message, words)}") from None


def _redacted(argv):
    """The words of a command line with the values of secret-bearing flags hidden (a URL's password only)."""
    from ..connect import redact_url

    return redacted_words(argv, lambda flag, value: redact_url(value) if flag == "--nats-url" else "***")[0]


def verb_parser(verb, prog="kubectl jetstream"):
    """The parser of `prog VERB` alone: the verb's own flags and the shared ones (only its module imported)."""
    parser = argparse.ArgumentParser(prog=f"{prog} {verb}", description=COMMANDS[verb])
    importlib.import_module(f".{verb}", __package__).add_arguments(parser)
    add_common_arguments(parser, suppress=False)
    return parser


def parse_verb(args):
    """(job options, the verb's own parsed arguments, the verb's parser) from what follows VERB."""
    options = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_job_options(options)
    options.set_defaults(**{dest: getattr(args, dest) for dest in JOB_OPTIONS})
    opts, rest = _parse_quietly(options, list(args.verb_args), known=True)
    parser = verb_parser(args.verb)
    verb_args = _parse_quietly(parser, rest, verb=args.verb)
    # Shared flags may come before `job`, between `job` and VERB, or after VERB: the latest wins.
    for dest in common_dests():
        value = getattr(verb_args, dest, None)
        if value is None or value == parser.get_default(dest):
            setattr(verb_args, dest, getattr(args, dest, None))
        elif dest == "filename" and getattr(args, "filename", None):
            setattr(verb_args, dest, list(args.filename) + list(value))
    return opts, verb_args, parser


def verb_flags(parser, verb_args):
    """The verb's own flags (not the shared ones) as command-line words, from their parsed values."""
    shared = set(common_dests()) | {"help"}
    words = []
    for action in options(parser):
        if action.dest in shared:
            continue
        value = getattr(verb_args, action.dest, action.default)
        if value == action.default or value is None:
            continue
        flag = max(action.option_strings, key=len) if action.dest != "yes" else "--yes"
        how = kind(action)
        if how == SWITCH:
            words.append(flag)
        elif how == COUNT:
            words += [flag] * int(value)
        elif how == APPEND:
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return words


def job_documents(ctx, args):
    """[ConfigMap, Job] as dicts; raises UsageError for anything that cannot work inside the cluster."""
    from ..units import parse_duration_flag  # units, connect, spec and yaml: not for `job --help`

    opts, verb_args, parser = parse_verb(args)
    verb = args.verb
    names = list(getattr(verb_args, "streams", None) or [])
    if verb in DESTRUCTIVE and not names and not verb_args.all:
        raise UsageError(f"job {verb}: name at least one stream, or use --all for every stream in streams.d")
    name = opts.name or f"jetstream-{verb}"
    if len(name) > 52 or not _DNS_LABEL.match(name):  # Job names become pod labels; leave room for suffixes
        raise UsageError(f"--name {name!r}: lower-case letters, digits and '-', at most 52 characters")
    ttl = parse_duration_flag(opts.ttl, "--ttl", zero=True)
    if opts.backoff_limit < 0:
        raise UsageError("--backoff-limit must not be negative")
    if opts.service_account and not re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", opts.service_account):
        raise UsageError(f"--service-account {opts.service_account!r} is not a valid name")

    ctx.args.filename = verb_args.filename
    specs = ctx.load_specs()  # every file validated first: exit 2 on an invalid one
    ctx.js_domain()  # files naming different JetStream domains: exit 2 here, not in the pod
    if verb in ("init", "diff", "recreate"):
        select_specs(specs, stream_names(verb_args))
    files = configmap_data(specs, ctx.warn)

    namespace = verb_args.namespace
    command = [verb, *names, "-f", MOUNT]
    if namespace:
        command += ["-n", namespace]
    command += forwarded_flags(ctx, verb_args)
    if verb_args.verbose:
        command.append("-" + "v" * verb_args.verbose)
    command += verb_flags(parser, verb_args)
    if verb in DESTRUCTIVE and not (verb_args.yes or verb_args.dry_run):
        command.append("--yes")
    _parse_quietly(verb_parser(verb, "kubectl-jetstream"), command[1:], verb=verb)  # the pod must parse it

    labels = {"app.kubernetes.io/name": "kubectl-jetstream", "app.kubernetes.io/instance": name,
              "app.kubernetes.io/component": verb, "app.kubernetes.io/version": __version__,
              "app.kubernetes.io/managed-by": "kubectl-jetstream"}
    configmap_name = f"{name}-streams"

    def metadata(obj_name):
        meta = {"name": obj_name}
        if namespace:
            meta["namespace"] = namespace
        meta["labels"] = dict(labels)
        return meta

    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(configmap_name), "data": files}
    pod_spec = {"restartPolicy": opts.restart_policy}
    if opts.service_account:
        pod_spec["serviceAccountName"] = opts.service_account
    pod_spec.update({
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "jetstream",
            "image": opts.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["kubectl-jetstream"],
            "args": command,
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "streams", "mountPath": MOUNT, "readOnly": True},
                             {"name": "tmp", "mountPath": "/tmp"}],
        }],
        "volumes": [{"name": "streams", "configMap": {"name": configmap_name}},
                    {"name": "tmp", "emptyDir": {}}],
    })
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(name),
        "spec": {
            "backoffLimit": opts.backoff_limit,
            "ttlSecondsAfterFinished": int(ttl),
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
        },
    }
    return [configmap, job]


def configmap_data(specs, warn):
    """{file name: content} of the files the specs came from -- their streams, key-value buckets and object
    stores, and the files holding their consumers (NACK Consumer documents) -- verbatim but for
    NACK_SECRET_KEYS."""
    data, origin = {}, {}
    for path in sorted({p for s in specs for p in [s.path, *s.more_paths]}):
        key = os.path.basename(path)
        if not _CONFIGMAP_KEY.match(key):
            raise UsageError(f"{path}: a ConfigMap key must be letters, digits, '-', '_' or '.': rename the file")
        if key in data:
            raise UsageError(f"{origin[key]} and {path} have the same file name; a ConfigMap needs unique names")
        with open(path, encoding="utf-8") as f:
            data[key] = _without_nack_secrets(path, f.read(), warn)
        origin[key] = path
    size = sum(len(k) + len(v.encode()) for k, v in data.items())
    if size > CONFIGMAP_LIMIT:
        raise UsageError(f"the stream files are {size} bytes, over the 1 MiB a ConfigMap can hold")
    return data


def _without_nack_secrets(path, text, warn):
    """The file's text; for a NACK resource with connection settings that may hold credentials, the file
    again without them (the tool ignores them anyway: it brings its own connection). Only field names are
    reported, never their values. The file was validated by load_specs, so parsing it again is bounded."""
    from ..spec.nack import NACK_GROUP

    if NACK_GROUP not in text:
        return text
    import yaml

    is_json = path.lower().endswith(".json")
    docs = [json.loads(text)] if is_json else [d for d in yaml.safe_load_all(text) if d is not None]
    dropped = False
    for doc in docs:
        nack = isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith(NACK_GROUP + "/")
        spec = doc.get("spec") if nack else None
        for field in NACK_SECRET_KEYS if isinstance(spec, dict) else ():
            if field in spec:
                del spec[field]
                dropped = True
                warn(f"{path}: spec.{field}: left out of the Job's ConfigMap (a NACK connection setting, "
                     "which may name or hold credentials)")
    if not dropped:
        return text
    if is_json:
        return json.dumps(docs[0], indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


def forwarded_flags(ctx, args):
    from ..units import parse_duration_flag, parse_request_timeout  # as in job_documents

    if args.timeout:  # checked here as the command in the Job would check them: a bad one fails now, not there
        parse_duration_flag(args.timeout, "--timeout")
    parse_request_timeout(args.request_timeout)
    flags = []
    for dest, flag in FORWARDED:
        value = getattr(args, dest, None)
        if value:
            flags += [flag, str(value)]
    if args.nats_url:
        from ..connect import nats_servers, redact_url, url_has_credentials

        servers = nats_servers(args.nats_url)
        if url_has_credentials(args.nats_url):
            raise UsageError(f"--nats-url {redact_url(args.nats_url)} (or NATS_URL) holds credentials, which the Job "
                             "would carry in plain text: give the URL without them and put them in a Secret: "
                             "--user-secret NAME (username/password), --token-secret NAME[/KEY] or "
                             "--creds-secret NAME[/KEY]")
        if all(_is_local(s) for s in servers):
            ctx.warn(f"--nats-url {args.nats_url} (or NATS_URL) points at this machine: not passed to the Job, "
                     "which finds NATS through its Service")
        else:
            flags += ["--nats-url", args.nats_url]
    for dest, flag, instead in NOT_FORWARDED:
        if getattr(args, dest, None):
            ctx.warn(f"{flag} (or its NATS_* variable) is not passed to the Job: it would be a local file or a "
                     f"secret written into the Job spec; use {instead}")
    return flags


def _is_local(url):
    host = (urlsplit(url if "://" in url else "nats://" + url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")
