"""The Kubernetes side of reaching NATS: kubeconfig (kubectl's rules) or in-cluster config, Service discovery,
pod selection like `kubectl port-forward svc/...`, Secrets, and the port-forward itself.

Imported lazily (by connect.py) so that `--help` and `version --client` never import the kubernetes client.

    with kube_endpoint(ctx) as ep:      # Endpoint(url, via, detail, creds/token/user/password)
        ...connect nats-py to ep.url...
    wait_for_ready_pod(ctx, deadline)   # for `wait`: until the NATS Service has a ready pod

Objects are read as plain JSON with GETs sent through the client's REST layer (`rest.RESTClientObject`, with
the headers and credentials the generated `CoreV1Api` methods send): no generated API class or model is imported
(see k8s.py; they cost 0.1-0.3 s and 20-30 MB per command), the code is the same for every kubernetes client version, and a
server field the models do not know cannot break deserialization.
"""
import base64
import binascii
import copy
import json
import os
import re
import time
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone

import yaml

with warnings.catch_warnings():
    # google-auth (imported by kubernetes.config) warns on every run under an old Python; not our user's concern
    warnings.simplefilter("ignore", FutureWarning)
    from .k8s import (ApiException, ConfigException, ConfigNode, Configuration, InClusterConfigLoader,
                      KubeConfigLoader, RESTClient, api_path, api_url, auth_headers)
from urllib3.exceptions import HTTPError

from . import __version__
from .endpoint import Endpoint
from .errors import AmbiguousService, KubernetesError, ToolError, Unreachable, UsageError
from .portforward import PortForwarder, Target
from .units import UnitError, parse_duration

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
NATS_PORT = 4222
NATS_PORT_NAMES = ("nats", "client")
NATS_LABEL = ("app.kubernetes.io/name", "nats")
COMPONENT_LABEL = ("app.kubernetes.io/component", "nats")
OVERRIDE_CONTEXT = "kubectl-jetstream/flags"
RBAC_HINT = "see docs/rbac.yaml"
USER_AGENT = f"kubectl-jetstream/{__version__}"


class KubeAuthError(KubernetesError):
    """401/403 from the API: retrying will not help."""


class ServiceNotFound(Unreachable):
    """Discovery found no NATS Service (or --service names none)."""


class NoReadyPod(Unreachable):
    """The Service has no ready pod (yet). `found` describes the pods seen."""

    def __init__(self, message, found=""):
        super().__init__(message)
        self.found = found


# ---------------------------------------------------------------------------------------------------------
# configuration: kubeconfig (kubectl's loading rules) or in-cluster


def incluster_dir():
    return os.environ.get("KJS_INCLUSTER_DIR") or SERVICE_ACCOUNT_DIR


def in_cluster_available():
    """Running in a pod: a service account token is mounted and the API's address is in the environment."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT")
                and os.path.isfile(os.path.join(incluster_dir(), "token")))


def kubeconfig_paths(args):
    """--kubeconfig alone, else every file of $KUBECONFIG (os.pathsep-separated), else ~/.kube/config."""
    if args.kubeconfig:
        return [args.kubeconfig], True
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
                doc = yaml.safe_load(f) or {}
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


def parse_request_timeout(value):
    """kubectl's --request-timeout: 0 or empty = none; a plain number is seconds; else 10s, 1m, 500ms..."""
    if value is None or str(value).strip() in ("", "0"):
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text) / 1e9
        except UnitError as exc:
            raise UsageError(f"--request-timeout: {exc}") from None
    if seconds <= 0:
        raise UsageError(f"--request-timeout: must be positive, got {value!r}")
    return seconds


class Kube:
    """One API client per command, plus where it came from (for messages)."""

    def __init__(self, configuration, namespace, in_cluster, source, request_timeout=None, log=None):
        self.configuration = configuration
        self.namespace = namespace
        self.in_cluster = in_cluster
        self.source = source  # e.g. 'context "kind-dev"' or "in-cluster service account"
        self.request_timeout = request_timeout
        self.log = log or (lambda message, level=1: None)
        self.rest_client = RESTClient(configuration)

    @property
    def host(self):
        return self.configuration.host

    def in_namespace(self, namespace):
        """The same client, for objects of another namespace (closing this one closes both)."""
        other = copy.copy(self)
        other.namespace = namespace
        return other

    def close(self):
        try:
            self.rest_client.pool_manager.clear()
        except Exception:
            pass

    # -- calls ----------------------------------------------------------------------------------------
    def get(self, what, path, query=(), timeout=None, **params):
        """GET an object or a list of the core API as `CoreV1Api` would (`path` a template like
        /api/v1/namespaces/{namespace}/services/{name}; `namespace` defaults to ours); returns the JSON body
        as a dict. `what` names the object for messages ("list services", "get secrets/nats-creds").
        404 -> None; other failures -> KubernetesError."""
        timeout = timeout if timeout is not None else self.request_timeout
        params.setdefault("namespace", self.namespace)
        try:
            query = list(query)
            headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
            headers.update(auth_headers(self.configuration, query))
            url = api_url(self.configuration, api_path(path, **params), query)
            # (connect, read): older clients ignore a float total timeout
            response = self.rest_client.request(
                "GET", url, headers=headers, _request_timeout=(timeout, timeout) if timeout is not None else None)
            # kubernetes <= 35 reads the body and raises ApiException for a non-2xx status; 37 does neither
            data = response.data if response.data is not None else response.read()
            if not 200 <= response.status <= 299:
                raise _api_exception(response.status, response.reason, data)
            return json.loads(data)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self.api_error(what, exc) from None
        except ValueError as exc:
            raise KubernetesError(f"{what}: the Kubernetes API at {self.host} sent an invalid answer: {exc}") \
                from None
        except (HTTPError, OSError) as exc:  # urllib3: connection refused, TLS failure, timeouts
            raise KubernetesError(f"cannot reach the Kubernetes API at {self.host} ({self.source}): "
                                  f"{_short_reason(exc)}") from None

    def api_error(self, what, exc):
        message = _status_message(exc.body)
        verb, _, resource = what.partition(" ")
        resource = resource.split("/")[0]
        if exc.status == 401:
            check = "the service account token" if self.in_cluster else "the kubeconfig user (token expired?)"
            return KubeAuthError(f"unauthorized (401): the Kubernetes API at {self.host} rejected the credentials "
                                 f"of {self.source}; check {check}")
        if exc.status == 403:
            return KubeAuthError(f"forbidden: the user needs `{verb}` on `{resource}` in namespace "
                                 f"{self.namespace}" + (f" ({message})" if message else "") + f"; {RBAC_HINT}")
        if exc.status == 0 or exc.status is None:
            return KubernetesError(f"cannot reach the Kubernetes API at {self.host}: {_short_reason(exc)}")
        return KubernetesError(f"{what} in namespace {self.namespace}: HTTP {exc.status} {exc.reason}"
                               + (f": {message}" if message else ""))

    def list_services(self):
        body = self.get("list services", "/api/v1/namespaces/{namespace}/services")
        return (body or {}).get("items") or []

    def get_service(self, name):
        return self.get(f"get services/{name}", "/api/v1/namespaces/{namespace}/services/{name}", name=name)

    def list_pods(self, selector):
        body = self.get("list pods", "/api/v1/namespaces/{namespace}/pods", [("labelSelector", selector)])
        return (body or {}).get("items") or []

    def get_endpoints(self, name):
        return self.get(f"get endpoints/{name}", "/api/v1/namespaces/{namespace}/endpoints/{name}", name=name)

    def get_secret(self, name):
        return self.get(f"get secrets/{name}", "/api/v1/namespaces/{namespace}/secrets/{name}", name=name)

    def service_pods(self, service):
        """The pods behind a Service: its selector, or (no selector) the pods its Endpoints point at."""
        selector = (service.get("spec") or {}).get("selector")
        if selector:
            return self.list_pods(",".join(f"{k}={v}" for k, v in sorted(selector.items())))
        name = service["metadata"]["name"]
        endpoints = self.get_endpoints(name) or {}
        names = set()
        for subset in endpoints.get("subsets") or []:
            for address in (subset.get("addresses") or []) + (subset.get("notReadyAddresses") or []):
                ref = address.get("targetRef") or {}
                if ref.get("kind") == "Pod" and ref.get("name"):
                    names.add(ref["name"])
        if not names:
            return []
        return [p for p in self.list_pods("") if p["metadata"]["name"] in names]


def _api_exception(status, reason, body):
    """The ApiException the generated methods raise for an error status (its constructor differs between
    client versions: set the fields)."""
    exc = ApiException(status=status, reason=reason)
    exc.body = body
    return exc


def _short_reason(exc):
    reason = getattr(exc, "reason", None)
    if isinstance(reason, Exception):
        reason = getattr(reason, "reason", None) or reason
    text = str(reason or exc)
    # urllib3 wraps the real cause in "HTTPSConnectionPool(...): Max retries exceeded ... (Caused by X(...))"
    if "Caused by " in text:
        text = text.split("Caused by ", 1)[1].rstrip(")")
    return text


def _status_message(body):
    if not body:
        return ""
    try:
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        return json.loads(body).get("message") or ""
    except (ValueError, AttributeError):
        return ""


def connect_kube(ctx):
    """Build the API client once for this command: kubeconfig + flags, else the in-cluster service account."""
    args = ctx.args
    timeout = parse_request_timeout(getattr(args, "request_timeout", None))
    paths, explicit = kubeconfig_paths(args)
    merged, first = merge_kubeconfigs(paths, explicit)
    flags = args.kubeconfig or args.context or args.cluster or args.user
    have_config = bool(merged["contexts"] or merged["clusters"])
    if not flags and not have_config and in_cluster_available():
        return _incluster_kube(ctx, timeout)
    if not have_config:
        where = " or ".join(paths) if paths else "~/.kube/config"
        raise KubernetesError(f"no Kubernetes configuration found (looked at {where}; not running in a pod): "
                              "set --kubeconfig or KUBECONFIG, or use --nats-url")
    context_name = args.context or merged["current-context"]
    context = {}
    if context_name:
        entry = _entry(merged, "contexts", context_name)
        if entry is None:
            raise KubernetesError(f'context "{context_name}" does not exist in the kubeconfig'
                                  f" ({os.pathsep.join(paths)})")
        context = entry.get("context") or {}
    elif not args.cluster:
        raise KubernetesError("the kubeconfig has no current-context: use --context NAME")
    cluster = args.cluster or context.get("cluster")
    user = args.user or context.get("user")
    if not cluster or _entry(merged, "clusters", cluster) is None:
        raise KubernetesError(f'cluster "{cluster}" does not exist in the kubeconfig')
    if args.user and _entry(merged, "users", user) is None:
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
    if args.namespace:
        namespace, ns_from = args.namespace, "-n"
    elif context.get("namespace"):
        namespace, ns_from = context["namespace"], f'context "{context_name}"'
    else:
        namespace, ns_from = "default", "default"
    source = f'context "{context_name}"' if context_name else f'cluster "{cluster}"'
    if args.cluster or args.user:
        source += f" (cluster {cluster}, user {user or 'none'})"
    ctx.log(f"kubeconfig {os.pathsep.join(paths)}: {source}, API {configuration.host}, "
            f"namespace {namespace} (from {ns_from})")
    return Kube(configuration, namespace, False, source, timeout, ctx.log)


def _incluster_kube(ctx, timeout):
    d = incluster_dir()
    configuration = Configuration()
    try:
        InClusterConfigLoader(token_filename=os.path.join(d, "token"),
                              cert_filename=os.path.join(d, "ca.crt")).load_and_set(configuration)
    except ConfigException as exc:
        raise KubernetesError(f"in-cluster configuration: {exc}") from None
    namespace, ns_from = ctx.args.namespace, "-n"
    if not namespace:
        try:
            with open(os.path.join(d, "namespace")) as f:
                namespace, ns_from = f.read().strip(), "the service account"
        except OSError:
            pass
    if not namespace:
        namespace, ns_from = "default", "default"
    ctx.log(f"in-cluster service account ({d}), API {configuration.host}, namespace {namespace} (from {ns_from})")
    return Kube(configuration, namespace, True, "the in-cluster service account", timeout, ctx.log)


# ---------------------------------------------------------------------------------------------------------
# discovery: which Service, which port, which pod (pure functions over API JSON)


def _labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def _name(obj):
    return obj["metadata"]["name"]


def is_headless(service):
    return (service.get("spec") or {}).get("clusterIP") == "None"


def _ports(service):
    return (service.get("spec") or {}).get("ports") or []


def _exposes_nats(service):
    return any(p.get("name") in NATS_PORT_NAMES or p.get("port") == NATS_PORT for p in _ports(service))


def _drop_headless_twins(candidates):
    """A headless Service selecting the same pods as a normal one is the same NATS: keep the normal one."""
    normal = [s for s in candidates if not is_headless(s)]
    selectors = [(s.get("spec") or {}).get("selector") for s in normal]
    kept = [s for s in candidates if not is_headless(s) or (s.get("spec") or {}).get("selector") not in selectors]
    return kept


def choose_service(services, namespace):
    """The NATS Service among `services`; returns (service, why it was chosen).

    Candidates, in order: Services labelled app.kubernetes.io/name=nats (the official Helm chart; among
    several, those also labelled app.kubernetes.io/component=nats), else the Service named nats, else
    Services exposing a port named nats or client or numbered 4222. A headless Service with the same
    selector as a normal one is dropped (the chart's nats-headless twin). One left: it; several:
    AmbiguousService (exit 2, asks for --service); none: ServiceNotFound (exit 3, says what was looked for).
    """
    labelled = [s for s in services if _labels(s).get(NATS_LABEL[0]) == NATS_LABEL[1]]
    if labelled:
        why = f"label {NATS_LABEL[0]}={NATS_LABEL[1]}"
        component = [s for s in labelled if _labels(s).get(COMPONENT_LABEL[0]) == COMPONENT_LABEL[1]]
        if component and len(labelled) > 1:
            labelled, why = component, why + f" and {COMPONENT_LABEL[0]}={COMPONENT_LABEL[1]}"
        candidates = labelled
    else:
        candidates = [s for s in services if _name(s) == "nats"]
        why = "name nats"
        if not candidates:
            candidates = [s for s in services if _exposes_nats(s)]
            why = f"a port named {' or '.join(NATS_PORT_NAMES)} or numbered {NATS_PORT}"
    if len(candidates) > 1:
        kept = _drop_headless_twins(candidates)
        if len(kept) < len(candidates):
            why += " (the non-headless one)"
        candidates = kept
    if len(candidates) == 1:
        return candidates[0], why
    if not candidates:
        found = ", ".join(sorted(_name(s) for s in services)) or "none"
        raise ServiceNotFound(
            f"no NATS Service found in namespace {namespace}: looked for label {NATS_LABEL[0]}={NATS_LABEL[1]}, "
            f"a Service named nats, or a port named {' or '.join(NATS_PORT_NAMES)} or numbered {NATS_PORT} "
            f"(Services there: {found}); use --service NAME or -n NAMESPACE")
    names = ", ".join(sorted(_name(s) for s in candidates))
    raise AmbiguousService(f"several NATS Services in namespace {namespace} ({why}): {names}; "
                           f"choose one with --service NAME")


def choose_port(service, wanted=None):
    """The Service port to use: --port (number or name), else the port named nats or client, else 4222.
    Returns the port entry (dict with port, name, targetPort...)."""
    ports = _ports(service)
    if wanted not in (None, ""):
        wanted = str(wanted)
        for p in ports:
            if wanted == p.get("name") or wanted == str(p.get("port")):
                return p
        listed = ", ".join(f"{p.get('name') or '-'} {p.get('port')}" for p in ports) or "none"
        if wanted.isdigit() and not ports:
            return {"port": int(wanted)}
        raise UsageError(f"--port {wanted}: Service {_name(service)} has no such port (ports: {listed})")
    for name in NATS_PORT_NAMES:
        for p in ports:
            if p.get("name") == name:
                return p
    for p in ports:
        if p.get("port") == NATS_PORT:
            return p
    return {"port": NATS_PORT, "name": None}


def pod_ready(pod):
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _time(value):
    """RFC 3339 timestamp as the API writes it (2024-05-01T10:00:00Z) -> aware datetime."""
    if not value:
        return None
    try:
        return datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _ready_since(pod):
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return _time(c.get("lastTransitionTime"))
    return None


def _restarts(pod):
    return max([c.get("restartCount") or 0 for c in (pod.get("status") or {}).get("containerStatuses") or []]
               or [0])


def ready_pods(pods):
    """Running + Ready pods, most suitable first, as kubectl orders them (podutils.ActivePods, reversed):
    ready the longest, then fewest restarts, then oldest; name last, for a stable choice."""
    far = datetime.max.replace(tzinfo=timezone.utc)

    def key(pod):
        since = _ready_since(pod) or far
        created = _time((pod.get("metadata") or {}).get("creationTimestamp")) or far
        return (since, _restarts(pod), created, _name(pod))

    return sorted((p for p in pods if pod_ready(p)), key=key)


def describe_pods(pods):
    """'2 pods, none ready: nats-0 (Pending), nats-1 (Running, not ready)'."""
    if not pods:
        return "no pods match its selector"
    parts = []
    for pod in sorted(pods, key=_name):
        status = pod.get("status") or {}
        phase = status.get("phase") or "Unknown"
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            state = f"{phase}, terminating"
        elif phase == "Running":
            state = "Running, not ready"
        else:
            reasons = [((cs.get("state") or {}).get("waiting") or {}).get("reason")
                       for cs in status.get("containerStatuses") or []]
            reasons = [r for r in reasons if r]
            state = f"{phase}: {reasons[0]}" if reasons else phase
        parts.append(f"{_name(pod)} ({state})")
    noun = "pod" if len(pods) == 1 else "pods"
    return f"{len(pods)} {noun}, none ready: " + ", ".join(parts)


def target_port(service_port, pod):
    """Service port -> the pod's port: numeric targetPort; a named one is looked up in the pod's containers;
    none means the same number as the Service port."""
    target = service_port.get("targetPort")
    if target in (None, "", 0):
        return int(service_port["port"])
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for p in container.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    raise Unreachable(f"pod {_name(pod)} has no container port named {target!r} (the Service's targetPort)")


# ---------------------------------------------------------------------------------------------------------
# steps


def find_service(kube, args):
    """(the NATS Service, why it was chosen, the Kube of its namespace): ExternalName aliases followed."""
    if args.service:
        service = kube.get_service(args.service)
        if service is None:
            raise ServiceNotFound(f"Service {args.service} not found in namespace {kube.namespace}")
        return follow_aliases(kube, service, "--service")
    return follow_aliases(kube, *choose_service(kube.list_services(), kube.namespace))


# An ExternalName naming a Service of this cluster: NAME.NAMESPACE.svc, then the cluster domain (cluster.local).
_CLUSTER_SERVICE_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc"
                                   r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?$")


def follow_aliases(kube, service, why):
    """An ExternalName Service is only a DNS alias (no selector, no pods, nothing to port-forward to): follow
    it to the Service it names when that one is in this cluster; else say what it is and what to use."""
    seen = set()
    while (service.get("spec") or {}).get("type") == "ExternalName":
        target = str((service.get("spec") or {}).get("externalName") or "")
        alias = f"Service {_name(service)} in namespace {kube.namespace} is an ExternalName alias of {target!r}"
        seen.add((kube.namespace, _name(service)))
        match = _CLUSTER_SERVICE_NAME.match(target.lower())
        if not match:
            raise UsageError(f"{alias}, a name outside the cluster, with no pods to port-forward to: give the "
                             f"NATS Service with --service NAME (and -n NAMESPACE), or connect with "
                             f"--nats-url nats://{target}:{NATS_PORT}")
        name, namespace = match.group(1), match.group(3)
        if (namespace, name) in seen:
            raise UsageError(f"{alias}, which leads back to itself: give the NATS Service with --service NAME")
        kube = kube.in_namespace(namespace)
        followed = kube.get_service(name)
        if followed is None:
            raise ServiceNotFound(f"{alias}, but Service {name} is not found in namespace {namespace}; "
                                  f"give the NATS Service with --service NAME (and -n NAMESPACE)")
        kube.log(f"{alias}: following it to Service {name} in namespace {namespace}")
        why = f"{why}, an ExternalName alias of Service {name} in namespace {namespace}"
        service = followed
    return service, why, kube


def choose_pod(kube, service, service_port, exclude=()):
    """(pod, pod port) for the best ready pod behind the Service; Unreachable naming what was found."""
    pods = kube.service_pods(service)
    ready = [p for p in ready_pods(pods) if _name(p) not in exclude]
    if not ready:
        if exclude and ready_pods(pods):
            raise NoReadyPod(f"no other ready pod for Service {_name(service)} in namespace {kube.namespace} "
                              f"(tried {', '.join(sorted(exclude))})")
        found = describe_pods(pods)
        raise NoReadyPod(f"no ready pod for Service {_name(service)} in namespace {kube.namespace}: {found}",
                         found)
    pod = ready[0]
    return pod, target_port(service_port, pod)


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


def read_credentials(kube, args):
    """NATS credentials from Secrets (--creds-secret, --token-secret, --user-secret), for the Endpoint."""
    found, secrets = {}, {}
    if args.creds_secret:
        name, key = split_secret_ref(args.creds_secret, "nats.creds", "--creds-secret")
        found["creds"] = _secret_value(kube, name, key, "--creds-secret", secrets)
        kube.log(f"NATS credentials from Secret {name} key {key}")
    if args.token_secret:
        name, key = split_secret_ref(args.token_secret, "token", "--token-secret")
        found["token"] = _secret_value(kube, name, key, "--token-secret", secrets).rstrip("\r\n")
        kube.log(f"NATS token from Secret {name} key {key}")
    if args.user_secret:
        name, _ = split_secret_ref(args.user_secret, "", "--user-secret")
        found["user"] = _secret_value(kube, name, "username", "--user-secret", secrets).rstrip("\r\n")
        found["password"] = _secret_value(kube, name, "password", "--user-secret", secrets).rstrip("\r\n")
        kube.log(f"NATS user and password from Secret {name}")
    return found


def _port_label(service_port):
    name = service_port.get("name")
    return f"port {name}" if name else f"port {service_port['port']}"


@contextmanager
def kube_endpoint(ctx):
    """Yield the Endpoint to NATS found through Kubernetes; closes any port-forward (listener and threads)
    on exit."""
    args = ctx.args
    kube = connect_kube(ctx)
    try:
        service, why, skube = find_service(kube, args)  # skube: the Service's namespace (an alias may lead on)
        svc = _name(service)
        sport = choose_port(service, args.port)
        ctx.log(f"NATS Service {svc} in namespace {skube.namespace} ({why}), {_port_label(sport)} "
                f"({sport['port']}){' headless' if is_headless(service) else ''}")
        creds = read_credentials(kube, args)  # the Secrets of the namespace asked for
        if kube.in_cluster:
            port = int(sport["port"])
            if is_headless(service) and sport.get("targetPort") not in (None, "", sport["port"]):
                # A headless name resolves to pod IPs: no Service port mapping happens, use the pod port.
                try:
                    _, port = choose_pod(skube, service, sport)
                except Unreachable:
                    pass
            url = f"nats://{svc}.{skube.namespace}.svc:{port}"
            ctx.log(f"in a pod: connecting directly to {url}")
            yield Endpoint(url=url, via="in-cluster", detail=f"svc/{svc} {_port_label(sport)} → {url}", **creds)
            return
        pod, pod_port = choose_pod(skube, service, sport)
        ready_since = _ready_since(pod)
        ctx.log(f"pod {_name(pod)} chosen (ready since {ready_since:%Y-%m-%d %H:%M:%S}Z, "
                f"{_restarts(pod)} restarts), port {pod_port}" if ready_since else f"pod {_name(pod)} chosen")

        def reselect(exclude):
            new_pod, new_port = choose_pod(skube, service, sport, exclude)
            return Target(_name(new_pod), new_port)

        forwarder = PortForwarder(kube.configuration, skube.namespace, Target(_name(pod), pod_port),
                                  reselect=reselect, log=ctx.log)
        forwarder.start()
        try:
            target = forwarder.target
            url = f"nats://127.0.0.1:{forwarder.local_port}"
            ctx.log(f"port-forward 127.0.0.1:{forwarder.local_port} → pod {target.pod}:{target.port}")
            try:
                yield Endpoint(url=url, via="port-forward",
                               detail=f"svc/{svc} {_port_label(sport)} → pod {target.pod}:{target.port}", **creds)
            except Unreachable as exc:
                # NATS could not be reached through the forward: say why the forward failed, if it did.
                if forwarder.last_error and forwarder.last_error not in str(exc):
                    exc.args = (f"{exc} (port-forward: {forwarder.last_error})",)  # keeps .step/.fatal
                raise
        finally:
            forwarder.close()
    finally:
        kube.close()


def wait_for_ready_pod(ctx, deadline):
    """For `wait`: retry with backoff until the NATS Service has a ready pod. At `deadline` (time.monotonic)
    raise Unreachable saying which step never became ready. Bad credentials, RBAC denials and ambiguous
    discovery fail at once."""
    args = ctx.args
    kube = connect_kube(ctx)
    delay = 0.2
    step, last = f"the Kubernetes API at {kube.host}", "no answer yet"
    try:
        while True:
            remaining = deadline - time.monotonic()
            if kube.request_timeout:
                kube_timeout = max(min(kube.request_timeout, remaining), 0.1)
            else:
                kube_timeout = max(remaining, 0.1)
            saved, kube.request_timeout = kube.request_timeout, kube_timeout
            try:
                service, why, skube = find_service(kube, args)
                pod, port = choose_pod(skube, service, choose_port(service, args.port))
                ctx.log(f"Service {_name(service)} ({why}) has a ready pod: {_name(pod)}")
                return
            except (KubeAuthError, AmbiguousService, UsageError):
                raise
            except ServiceNotFound as exc:
                step, last = f"a NATS Service in namespace {kube.namespace}", str(exc)
            except NoReadyPod as exc:
                step = f"a ready pod for Service {_name(service)} in namespace {skube.namespace}"
                last = exc.found or str(exc)
            except ToolError as exc:
                step, last = f"the Kubernetes API at {kube.host}", str(exc)
            finally:
                kube.request_timeout = saved
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unreachable(f"timed out waiting for {step}: {last}")
            ctx.log(f"waiting for {step}: {last}; retrying in {min(delay, remaining):.1f}s")
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 2.0)
    finally:
        kube.close()
