"""`Kube`: the API client of one command. Objects are read as plain JSON with GETs sent through the client's
REST layer (`rest.RESTClientObject`, with the headers and credentials the generated `CoreV1Api` methods send): no
generated API class or model is imported (see k8s.py; they cost 0.1-0.3 s and 20-30 MB per command), the code
is the same for every kubernetes client version, and a server field the models do not know cannot break
deserialization. API failures become the plugin's errors (exit 3, 401/403 named as such).
"""
import copy
import json

from urllib3.exceptions import HTTPError

from .. import __version__
from ..errors import KubernetesError
from .k8s import ApiException, RESTClient, api_path, api_url, auth_headers, rest_get

RBAC_HINT = "see docs/rbac.yaml"
USER_AGENT = f"kubectl-jetstream/{__version__}"


class KubeAuthError(KubernetesError):
    """401/403 from the API: retrying will not help."""


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
            return json.loads(rest_get(self.rest_client, url, headers, timeout))
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
