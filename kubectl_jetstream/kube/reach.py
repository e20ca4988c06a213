"""NATS reached through Kubernetes: the Endpoint (in a pod, the Service's DNS name; outside, a port-forward to
its best ready pod, torn down on exit), and the wait until the NATS Service has a ready pod (`wait`).

    with kube_endpoint(options, log) as ep:      # options: KubeOptions; Endpoint(url, via, detail, secrets)
        ...connect nats-py to ep.url...
    wait_for_ready_pod(options, deadline, log)   # for `wait`: until the NATS Service has a ready pod

`log(message, level=1)` gets what -v (level 1) and -vv (level 2) show.
"""
import time
from contextlib import contextmanager

from ..endpoint import Endpoint
from ..errors import AmbiguousService, ToolError, Unreachable, UsageError
from .api import KubeAuthError
from .config import connect_kube
from .discovery import (NoReadyPod, ServiceNotFound, choose_pod, choose_port, find_service, is_headless, name_of,
                        ready_since, restarts)
from .portforward import PortForwarder, Target
from .secrets import read_credentials


def _port_label(service_port):
    name = service_port.get("name")
    return f"port {name}" if name else f"port {service_port['port']}"


@contextmanager
def kube_endpoint(options, log):
    """Yield the Endpoint to NATS found through Kubernetes; closes any port-forward (listener and threads)
    on exit."""
    kube = connect_kube(options, log)
    try:
        # skube: the Kube of the Service's namespace (an ExternalName alias may lead to another)
        service, why, skube = find_service(kube, options.service)
        svc = name_of(service)
        sport = choose_port(service, options.port)
        log(f"NATS Service {svc} in namespace {skube.namespace} ({why}), {_port_label(sport)} "
            f"({sport['port']}){' headless' if is_headless(service) else ''}")
        creds = read_credentials(kube, options)  # the Secrets of the namespace asked for
        if kube.in_cluster:
            port = int(sport["port"])
            if is_headless(service) and sport.get("targetPort") not in (None, "", sport["port"]):
                # A headless name resolves to pod IPs: no Service port mapping happens, use the pod port.
                try:
                    _, port = choose_pod(skube, service, sport)
                except Unreachable:
                    pass
            url = f"nats://{svc}.{skube.namespace}.svc:{port}"
            log(f"in a pod: connecting directly to {url}")
            yield Endpoint(url=url, via="in-cluster", detail=f"svc/{svc} {_port_label(sport)} → {url}", **creds)
            return
        pod, pod_port = choose_pod(skube, service, sport)
        since = ready_since(pod)
        log(f"pod {name_of(pod)} chosen (ready since {since:%Y-%m-%d %H:%M:%S}Z, "
            f"{restarts(pod)} restarts), port {pod_port}" if since else f"pod {name_of(pod)} chosen")

        def reselect(exclude):
            new_pod, new_port = choose_pod(skube, service, sport, exclude)
            return Target(name_of(new_pod), new_port)

        forwarder = PortForwarder(kube.configuration, skube.namespace, Target(name_of(pod), pod_port),
                                  reselect=reselect, log=log)
        forwarder.start()
        try:
            target = forwarder.target
            url = f"nats://127.0.0.1:{forwarder.local_port}"
            log(f"port-forward 127.0.0.1:{forwarder.local_port} → pod {target.pod}:{target.port}")
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


def wait_for_ready_pod(options, deadline, log):
    """For `wait`: retry with backoff until the NATS Service has a ready pod. At `deadline` (time.monotonic)
    raise Unreachable saying which step never became ready. Bad credentials, RBAC denials and ambiguous
    discovery fail at once."""
    kube = connect_kube(options, log)
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
                service, why, skube = find_service(kube, options.service)
                pod, port = choose_pod(skube, service, choose_port(service, options.port))
                log(f"Service {name_of(service)} ({why}) has a ready pod: {name_of(pod)}")
                return
            except (KubeAuthError, AmbiguousService, UsageError):
                raise
            except ServiceNotFound as exc:
                step, last = f"a NATS Service in namespace {kube.namespace}", str(exc)
            except NoReadyPod as exc:
                step = f"a ready pod for Service {name_of(service)} in namespace {skube.namespace}"
                last = exc.found or str(exc)
            except ToolError as exc:
                step, last = f"the Kubernetes API at {kube.host}", str(exc)
            finally:
                kube.request_timeout = saved
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unreachable(f"timed out waiting for {step}: {last}")
            log(f"waiting for {step}: {last}; retrying in {min(delay, remaining):.1f}s")
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 2.0)
    finally:
        kube.close()
