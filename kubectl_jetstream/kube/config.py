"""The API client of one command, built as kubectl builds its own: kubeconfig files merged by kubectl's loading
rules, --context/--cluster/--user/-n on top; or, in a pod with no kubeconfig, the in-cluster service account."""
import os

import yaml

from ..errors import KubernetesError
from ..units import parse_request_timeout
from .api import Kube
from .k8s import ConfigException, ConfigNode, Configuration, InClusterConfigLoader, KubeConfigLoader

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
OVERRIDE_CONTEXT = "kubectl-jetstream/flags"


# libyaml when present: PyYAML's pure-Python loader takes ~50 ms on a large kubeconfig, every command
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

def incluster_dir():
    return os.environ.get("KJS_INCLUSTER_DIR") or SERVICE_ACCOUNT_DIR


def in_cluster_available():
    """Running in a pod: a service account token is mounted and the API's address is in the environment."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT")
                and os.path.isfile(os.path.join(incluster_dir(), "token")))


def kubeconfig_paths(kubeconfig=None):
    """--kubeconfig alone, else every file of $KUBECONFIG (os.pathsep-separated), else ~/.kube/config."""
    if kubeconfig:
        return [kubeconfig], True
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p], False
    return [os.path.join(os.path.expanduser("~"), ".kube", "config")], False


def merge_kubeconfigs(paths, explicit=False):
    """Merge like kubectl: for clusters, contexts and users the first file that defines a name wins, and so
    does the first current-context. Each entry remembers its file, so relative paths in it (certificate
    files) resolve against that file's directory. Missing files are skipped (an explicit --kubeconfig must
    exist); empty files are empty configs."""
    merged = {"clusters": [], "contexts": [], "users": []}
    seen = {key: set() for key in merged}
    current, first = None, None
    for path in paths:
        path = os.path.expanduser(path)
        if not os.path.exists(path):
            if explicit:
                raise KubernetesError(f"--kubeconfig: no such file: {path}")
            continue
        try:
            with open(path) as f:
                doc = yaml.load(f, Loader=_LOADER) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KubernetesError(f"cannot read kubeconfig {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise KubernetesError(f"invalid kubeconfig {path}: not a mapping")
        first = first or path
        for key in merged:
            for item in doc.get(key) or []:
                if not isinstance(item, dict) or "name" not in item:
                    raise KubernetesError(f"invalid kubeconfig {path}: an entry of {key} has no name")
                if item["name"] in seen[key]:
                    continue
                seen[key].add(item["name"])
                merged[key].append(ConfigNode(f"{path}/{key}[name={item['name']}]", item, path))
        if not current and doc.get("current-context"):
            current = doc["current-context"]
    merged["current-context"] = current or ""
    return merged, first


def _entry(merged, key, name):
    for node in merged[key]:
        if node.value.get("name") == name:
            return node.value
    return None


def connect_kube(options, log=None):
    """Build the API client once for this command from KubeOptions: kubeconfig + flags, else the in-cluster
    service account. `log(message, level=1)` gets what -v shows."""
    log = log or (lambda message, level=1: None)
    timeout = parse_request_timeout(options.request_timeout)
    paths, explicit = kubeconfig_paths(options.kubeconfig)
    merged, first = merge_kubeconfigs(paths, explicit)
    flags = options.kubeconfig or options.context or options.cluster or options.user
    have_config = bool(merged["contexts"] or merged["clusters"])
    if not flags and not have_config and in_cluster_available():
        return _incluster_kube(options.namespace, timeout, log)
    if not have_config:
        where = " or ".join(paths) if paths else "~/.kube/config"
        raise KubernetesError(f"no Kubernetes configuration found (looked at {where}; not running in a pod): "
                              "set --kubeconfig or KUBECONFIG, or use --nats-url")
    context_name = options.context or merged["current-context"]
    context = {}
    if context_name:
        entry = _entry(merged, "contexts", context_name)
        if entry is None:
            raise KubernetesError(f'context "{context_name}" does not exist in the kubeconfig'
                                  f" ({os.pathsep.join(paths)})")
        context = entry.get("context") or {}
    elif not options.cluster:
        raise KubernetesError("the kubeconfig has no current-context: use --context NAME")
    cluster = options.cluster or context.get("cluster")
    user = options.user or context.get("user")
    if not cluster or _entry(merged, "clusters", cluster) is None:
        raise KubernetesError(f'cluster "{cluster}" does not exist in the kubeconfig')
    if options.user and _entry(merged, "users", user) is None:
        raise KubernetesError(f'user "{user}" does not exist in the kubeconfig')
    override = {"name": OVERRIDE_CONTEXT, "context": {"cluster": cluster, **({"user": user} if user else {})}}
    merged["contexts"].append(ConfigNode(OVERRIDE_CONTEXT, override, first))
    configuration = Configuration()
    try:
        loader = KubeConfigLoader(config_dict=ConfigNode("kubeconfig", merged, first),
                                  active_context=OVERRIDE_CONTEXT, config_base_path=None)
        loader.load_and_set(configuration)
    except ConfigException as exc:
        raise KubernetesError(f"kubeconfig: {exc}") from None
    except (OSError, ValueError) as exc:  # exec plugins, unreadable certificate files
        raise KubernetesError(f"kubeconfig: {type(exc).__name__}: {exc}") from None
    if options.namespace:
        namespace, ns_from = options.namespace, "-n"
    elif context.get("namespace"):
        namespace, ns_from = context["namespace"], f'context "{context_name}"'
    else:
        namespace, ns_from = "default", "default"
    source = f'context "{context_name}"' if context_name else f'cluster "{cluster}"'
    if options.cluster or options.user:
        source += f" (cluster {cluster}, user {user or 'none'})"
    log(f"kubeconfig {os.pathsep.join(paths)}: {source}, API {configuration.host}, "
        f"namespace {namespace} (from {ns_from})")
    return Kube(configuration, namespace, False, source, timeout, log)


def _incluster_kube(namespace, timeout, log):
    d = incluster_dir()
    configuration = Configuration()
    try:
        InClusterConfigLoader(token_filename=os.path.join(d, "token"),
                              cert_filename=os.path.join(d, "ca.crt")).load_and_set(configuration)
    except ConfigException as exc:
        raise KubernetesError(f"in-cluster configuration: {exc}") from None
    ns_from = "-n"
    if not namespace:
        try:
            with open(os.path.join(d, "namespace")) as f:
                namespace, ns_from = f.read().strip(), "the service account"
        except OSError:
            pass
    if not namespace:
        namespace, ns_from = "default", "default"
    log(f"in-cluster service account ({d}), API {configuration.host}, namespace {namespace} (from {ns_from})")
    return Kube(configuration, namespace, True, "the in-cluster service account", timeout, log)
