"""The parts of the kubernetes Python client the plugin uses, imported without its generated API classes and
models: `Configuration`, the kubeconfig and in-cluster loaders, its REST client (`rest.RESTClientObject`),
`ApiException`, and the websocket opener of `kubernetes.stream`.

Why: `import kubernetes` (any submodule: Python runs the package's `__init__` first) imports
`kubernetes.client`, and with kubernetes <= 35 (the release zipapp bundles 35) that package's `__init__`
imports every generated API class and all ~720 model classes: 0.1 s and 30 MB per command. kubernetes 37
loads them lazily, but `CoreV1Api` alone builds ~250 pydantic models: 0.3 s and 21 MB. The plugin only GETs
five kinds of object, as raw JSON, and opens one websocket: it needs none of them.

So `kubernetes`, `kubernetes.client` and `kubernetes.client.models` are registered as packages whose
`__init__` is deferred: their submodules import as usual (the client's own modules import each other by
absolute name, so the real package names must be used), and the first use of a name that only an `__init__`
defines (`kubernetes.client.CoreV1Api`, `kubernetes.__version__`) runs that `__init__` then, so that other
code in the same process (the tests) still sees the whole client. When `kubernetes` is already imported,
nothing is deferred and this is a plain import.

Three more imports only serve rare paths and are stood in for until used (`_stand_in`): `ApiClient` (pydantic,
dateutil, a thread pool; the kubeconfig loader only builds one to refresh an OIDC token), `requests_oauthlib`
and `oauthlib.oauth2` (requests, charset_normalizer, idna; only for that OIDC refresh) and `requests.utils`
(`should_bypass_proxies`, only when a proxy is configured). Together about half of the client's import time.
The first call or attribute use imports the real module, so every path still works as the client wrote it.

    from .k8s import Configuration, RESTClient, KubeConfigLoader, ...   # what the kube package uses

Everything that depends on how a client version shapes its internals (the package layout deferred above, the
REST client's answer, ApiException's constructor, the auth settings, the websocket opener's arguments) is in
this module and nowhere else; tests/test_k8s_contract.py checks each shape against the installed client, so a
client release that changes one fails there, by name.
"""
import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
import warnings
from urllib.parse import quote, urlencode

_lock = threading.RLock()


def _defer_package_init(name):
    """Put package `name` into sys.modules without running its `__init__`; see the module docstring."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    module = importlib.util.module_from_spec(spec)

    def __getattr__(attr):
        # A submodule (`from kubernetes.client import rest`): import just it.
        if importlib.machinery.PathFinder.find_spec(f"{name}.{attr}", module.__path__) is not None:
            return importlib.import_module(f"{name}.{attr}")
        # Anything else is defined by the package's __init__: run it now, once (it may define its own
        # __getattr__, as kubernetes 37's client does for lazy exports).
        with _lock:
            if module.__dict__.get("__getattr__") is __getattr__:
                del module.__dict__["__getattr__"]
                spec.loader.exec_module(module)
        return getattr(module, attr)

    module.__getattr__ = __getattr__
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


class _StandIn(types.ModuleType):
    """A module that is not imported yet: the first use of any attribute imports the real one in its place."""

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):  # the import system asks for __path__, __file__...
            raise AttributeError(attr)
        return getattr(_real(self.__name__), attr)


_stood_in = []  # names of the modules given stand-ins


def _real(name):
    """The real module `name`. The first time, every stand-in is replaced by its real module (they import each
    other: requests_oauthlib imports oauthlib.common, which needs the real oauthlib package)."""
    with _lock:
        stand_ins = [n for n, m in list(sys.modules.items()) if isinstance(m, _StandIn)]
        for n in stand_ins:
            del sys.modules[n]
        for n in _stood_in if stand_ins else ():
            importlib.import_module(n)
        return importlib.import_module(name)


def _deferred_call(module, attr):
    def call(*args, **kwargs):
        return getattr(_real(module), attr)(*args, **kwargs)

    call.__name__ = call.__qualname__ = attr
    return call


def _stand_in(name, *callables):
    """Register a stand-in for module `name` (and its parents) unless it is imported already; `from name import
    X` for X in `callables` gives a function that imports the real module when called."""
    if name in sys.modules or importlib.util.find_spec(name.split(".")[0]) is None:
        return
    _stood_in.append(name)
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix not in sys.modules:
            sys.modules[prefix] = _StandIn(prefix)
    for attr in callables:
        setattr(sys.modules[name], attr, _deferred_call(name, attr))


def _load():
    if "kubernetes" not in sys.modules:
        _defer_package_init("kubernetes")
        client = _defer_package_init("kubernetes.client")
        _defer_package_init("kubernetes.client.models")  # api_client.py imports it; only deserialize uses it
        from kubernetes.client.configuration import Configuration as configuration_class
        # kubernetes.config's loaders do `from kubernetes.client import ApiClient, Configuration`
        client.__dict__.setdefault("Configuration", configuration_class)
        client.__dict__.setdefault("ApiClient", _deferred_call("kubernetes.client.api_client", "ApiClient"))
        _stand_in("oauthlib.oauth2")
        _stand_in("requests_oauthlib", "OAuth2Session")
        _stand_in("requests.utils", "should_bypass_proxies")


with _lock:
    _load()

with warnings.catch_warnings():
    # google-auth (imported by kubernetes.config) warns on every run under an old Python; not our user's concern
    warnings.simplefilter("ignore", FutureWarning)
    from kubernetes.client.configuration import Configuration  # noqa: E402
    from kubernetes.client.exceptions import ApiException  # noqa: E402
    from kubernetes.client.rest import RESTClientObject as RESTClient  # noqa: E402
    from kubernetes.config.config_exception import ConfigException  # noqa: E402
    from kubernetes.config.incluster_config import InClusterConfigLoader  # noqa: E402
    from kubernetes.config.kube_config import ConfigNode, KubeConfigLoader  # noqa: E402
    from kubernetes.stream.ws_client import create_websocket, get_websocket_url  # noqa: E402

__all__ = ["RESTClient", "ApiException", "ConfigException", "ConfigNode", "Configuration", "InClusterConfigLoader",
           "KubeConfigLoader", "api_exception", "api_path", "api_url", "auth_headers", "create_websocket",
           "get_websocket_url", "rest_get"]


def api_exception(status, reason, body=None):
    """The ApiException the generated methods raise for an error status: its constructor's arguments differ
    between client versions, so build it with the two every version takes and set the body."""
    exc = ApiException(status=status, reason=reason)
    exc.body = body
    return exc


def rest_get(rest_client, url, headers, timeout=None):
    """GET `url` -> the body (bytes) of a 2xx answer; any other status raises ApiException(status, reason, body).
    The same on every client version: kubernetes <= 35's RESTClientObject reads the body (decoded to str) and
    raises for a non-2xx status itself, 37 does neither. `timeout` (seconds) bounds connecting and each read: a
    (connect, read) pair, as older clients ignore a float total timeout."""
    response = rest_client.request("GET", url, headers=headers,
                                   _request_timeout=(timeout, timeout) if timeout is not None else None)
    data = response.data if response.data is not None else response.read()
    if not 200 <= response.status <= 299:
        raise api_exception(response.status, response.reason, data)
    return data.encode() if isinstance(data, str) else data


def auth_headers(configuration, query=None):
    """The credentials the generated API methods add to every request (`update_params_for_auth` with their one
    auth scheme, BearerToken: a bearer token or basic auth as an `authorization` header). Calling
    `configuration.auth_settings()` also runs the kubeconfig loader's refresh hook, which renews an expired
    exec-plugin or OIDC token, as the generated methods do on every call."""
    headers = {}
    setting = configuration.auth_settings().get("BearerToken")
    if setting and setting.get("value"):
        if setting.get("in") == "header":
            headers[setting["key"]] = setting["value"]
        elif setting.get("in") == "query" and query is not None:
            query.append((setting["key"], setting["value"]))
    return headers


def api_url(configuration, path, query=()):
    """configuration.host + path + ?query (pairs whose value is None are left out), as the generated methods
    build a request's URL."""
    query = [(k, v) for k, v in query if v is not None]
    return configuration.host + path + ("?" + urlencode(query) if query else "")


def api_path(template, **params):
    """'/api/v1/namespaces/{namespace}/pods/{name}' with every parameter quoted as a path segment."""
    return template.format(**{k: quote(str(v), safe="") for k, v in params.items()})
