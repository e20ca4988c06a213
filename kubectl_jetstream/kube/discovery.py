"""Which Service, which port, which pod: `kubectl port-forward svc/...`'s choices, as pure rules over API JSON.
The functions that look objects up take the `Kube` client (api.py) as an argument and import nothing of the
kubernetes client: unit tests give them plain dicts.
"""
import re
from datetime import datetime, timezone

from ..errors import AmbiguousService, Unreachable, UsageError
from ..units import parse_time

NATS_PORT = 4222
NATS_PORT_NAMES = ("nats", "client")
NATS_LABEL = ("app.kubernetes.io/name", "nats")
COMPONENT_LABEL = ("app.kubernetes.io/component", "nats")


class ServiceNotFound(Unreachable):
    """Discovery found no NATS Service (or --service names none)."""


class NoReadyPod(Unreachable):
    """The Service has no ready pod (yet). `found` describes the pods seen."""

    def __init__(self, message, found=""):
        super().__init__(message)
        self.found = found


def _labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def name_of(obj):
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
        candidates = [s for s in services if name_of(s) == "nats"]
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
        found = ", ".join(sorted(name_of(s) for s in services)) or "none"
        raise ServiceNotFound(
            f"no NATS Service found in namespace {namespace}: looked for label {NATS_LABEL[0]}={NATS_LABEL[1]}, "
            f"a Service named nats, or a port named {' or '.join(NATS_PORT_NAMES)} or numbered {NATS_PORT} "
            f"(Services there: {found}); use --service NAME or -n NAMESPACE")
    names = ", ".join(sorted(name_of(s) for s in candidates))
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
        raise UsageError(f"--port {wanted}: Service {name_of(service)} has no such port (ports: {listed})")
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
    """An API timestamp (2024-05-01T10:00:00Z) -> aware datetime (UTC when it names no zone); None when absent or
    unreadable."""
    parsed = parse_time(value)
    if parsed is None:
        return None
    return parsed[0] if parsed[0].tzinfo else parsed[0].replace(tzinfo=timezone.utc)


def ready_since(pod):
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return _time(c.get("lastTransitionTime"))
    return None


def restarts(pod):
    return max([c.get("restartCount") or 0 for c in (pod.get("status") or {}).get("containerStatuses") or []]
               or [0])


def ready_pods(pods):
    """Running + Ready pods, most suitable first, as kubectl orders them (podutils.ActivePods, reversed):
    ready the longest, then fewest restarts, then oldest; name last, for a stable choice."""
    far = datetime.max.replace(tzinfo=timezone.utc)

    def key(pod):
        since = ready_since(pod) or far
        created = _time((pod.get("metadata") or {}).get("creationTimestamp")) or far
        return (since, restarts(pod), created, name_of(pod))

    return sorted((p for p in pods if pod_ready(p)), key=key)


def describe_pods(pods):
    """'2 pods, none ready: nats-0 (Pending), nats-1 (Running, not ready)'."""
    if not pods:
        return "no pods match its selector"
    parts = []
    for pod in sorted(pods, key=name_of):
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
        parts.append(f"{name_of(pod)} ({state})")
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
    raise Unreachable(f"pod {name_of(pod)} has no container port named {target!r} (the Service's targetPort)")


def find_service(kube, name=None):
    """(the NATS Service -- `name` (--service), else discovered --, why it was chosen, the Kube of its
    namespace): ExternalName aliases followed."""
    if name:
        service = kube.get_service(name)
        if service is None:
            raise ServiceNotFound(f"Service {name} not found in namespace {kube.namespace}")
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
        alias = f"Service {name_of(service)} in namespace {kube.namespace} is an ExternalName alias of {target!r}"
        seen.add((kube.namespace, name_of(service)))
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
    ready = [p for p in ready_pods(pods) if name_of(p) not in exclude]
    if not ready:
        if exclude and ready_pods(pods):
            raise NoReadyPod(f"no other ready pod for Service {name_of(service)} in namespace {kube.namespace} "
                              f"(tried {', '.join(sorted(exclude))})")
        found = describe_pods(pods)
        raise NoReadyPod(f"no ready pod for Service {name_of(service)} in namespace {kube.namespace}: {found}",
                         found)
    pod = ready[0]
    return pod, target_port(service_port, pod)
