"""A protocol-faithful, in-process fake of the Kubernetes API server, for tests.

No container engine runs in the test environment, so this stands in for kube-apiserver + kubelet closely
enough that the *unmodified* kubernetes Python client (and kubectl) can talk to it:

- HTTPS with its own CA (made with the openssl CLI), a server certificate for IP:127.0.0.1, bearer-token
  authentication (401 `Status` for a wrong or missing token) and a deny list that simulates RBAC (403
  `Status` worded like Kubernetes');
- JSON REST for /version, /api, /api/v1, /apis, and services, pods, endpoints, secrets, namespaces: get and
  list (labelSelector: =, ==, !=, in, notin, exists, !exists; fieldSelector: metadata.name,
  metadata.namespace, status.phase), list responses with `metadata.resourceVersion`, 404 `Status`;
- the pods/portforward subresource over WebSocket, as the kubelet serves it (RFC 6455 implemented here,
  since it is the peer of the code under test): subprotocol negotiation (the first offered protocol that is
  supported, `v4.channel.k8s.io`; none -> 403), two channels per requested port (data 2i, error 2i+1) each
  opened with a frame carrying the port number little-endian, then `[channel] + bytes` frames both ways;
  a failed dial is reported on the error channel (`error forwarding port P to pod NAME, uid UID: ...`);
  the end is a close frame with code 1000, then TCP close; pings are answered.

Each fake pod maps (pod, container port) to a real local address (e.g. a nats-server started by the test),
so traffic through the forward reaches a real server. Pods can be added, made unready or deleted while a
test runs (thread-safe); deleting a pod closes its active forwards, like a terminated container would.
Every request is recorded in `requests` so tests can assert what was called.
"""
import base64
import copy
import datetime as _dt
import hashlib
import http.server
import json
import os
import shutil
import socket
import socketserver
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io",)  # what the kubelet's port-forward websocket accepts (binary)
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RESOURCES = ("services", "pods", "endpoints", "secrets")
KINDS = {"services": "Service", "pods": "Pod", "endpoints": "Endpoints", "secrets": "Secret",
         "namespaces": "Namespace"}


# ---------------------------------------------------------------------------------------------------------
# certificates


_CERTS = {}
_CERTS_LOCK = threading.Lock()


def make_certs():
    """CA + server certificate (SAN IP:127.0.0.1, DNS:localhost) in a temp dir; made once per process."""
    with _CERTS_LOCK:
        if "dir" in _CERTS and os.path.exists(_CERTS["dir"]):
            return dict(_CERTS)
        d = tempfile.mkdtemp(prefix="kjs-kubeapi-certs-")

        def run(*args):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3",
            "-subj", "/CN=kubectl-jetstream test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash")
        run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver")
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "3", "-extfile", "ext.cnf")
        _CERTS.update(dir=d, ca=os.path.join(d, "ca.crt"), cert=os.path.join(d, "server.crt"),
                      key=os.path.join(d, "server.key"))
        return dict(_CERTS)


# ---------------------------------------------------------------------------------------------------------
# selectors


def _parse_selector(text):
    """Label selector -> list of (key, op, values). ops: =, !=, in, notin, exists, !exists."""
    reqs = []
    text = (text or "").strip()
    if not text:
        return reqs
    parts, depth, cur = [], 0, ""
    for ch in text:  # split on commas outside parentheses
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for part in (p.strip() for p in parts):
        if not part:
            continue
        low = part.replace("\t", " ")
        if " notin " in low or " in " in low:
            op = "notin" if " notin " in low else "in"
            key, rest = low.split(f" {op} ", 1)
            values = [v.strip() for v in rest.strip().strip("()").split(",") if v.strip()]
            reqs.append((key.strip(), op, values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            reqs.append((key.strip(), "!=", [value.strip()]))
        elif "==" in part:
            key, value = part.split("==", 1)
            reqs.append((key.strip(), "=", [value.strip()]))
        elif "=" in part:
            key, value = part.split("=", 1)
            reqs.append((key.strip(), "=", [value.strip()]))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!exists", []))
        else:
            reqs.append((part, "exists", []))
    return reqs


def _matches(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        present = key in labels
        value = labels.get(key)
        if op == "=" and value != values[0]:
            return False
        if op == "!=" and value == values[0]:
            return False
        if op == "in" and value not in values:
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def _field_value(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return "" if cur is None else str(cur)


def _fields_match(selector, obj):
    for req in _parse_selector(selector):
        key, op, values = req
        if op not in ("=", "!="):
            raise ValueError(f"unsupported field selector {key!r}")
        if key not in ("metadata.name", "metadata.namespace", "status.phase", "spec.nodeName"):
            raise ValueError(f'field label not supported: {key}')
        actual = _field_value(obj, key)
        if (op == "=") != (actual == values[0]):
            return False
    return True


def now_iso(offset_seconds=0):
    t = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------------------
# websocket (RFC 6455), server side


class WSClosed(Exception):
    pass


class ServerWebSocket:
    """Server end of one websocket on an already-upgraded (TLS) socket. Reads in one thread, writes from any
    (sends are serialized by a lock). Frames from the client must be masked (RFC 6455 5.1)."""

    def __init__(self, sock, rfile):
        self.sock = sock
        self.rfile = rfile  # the handler's buffered reader: it may already hold bytes after the headers
        self.wlock = threading.Lock()
        self.close_sent = False
        self.close_received = None  # (code, reason) once the client's close frame arrived

    def _read_exact(self, n):
        data = self.rfile.read(n)
        if data is None or len(data) < n:
            raise WSClosed("connection closed by the client")
        return data

    def recv_frame(self):
        """(fin, opcode, payload) of the next frame."""
        b1, b2 = self._read_exact(2)
        fin, opcode = bool(b1 & 0x80), b1 & 0x0F
        if b1 & 0x70:
            raise WSClosed("reserved bits set")
        masked, length = bool(b2 & 0x80), b2 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
        if not masked:
            self.close(1002, "client frames must be masked")
            raise WSClosed("unmasked client frame")
        mask = self._read_exact(4)
        payload = bytearray(self._read_exact(length))
        for i in range(length):
            payload[i] ^= mask[i % 4]
        return fin, opcode, bytes(payload)

    def recv_message(self):
        """(opcode, payload) of the next data message; answers pings; returns (OP_CLOSE, ...) on close."""
        parts, first_op = [], None
        while True:
            fin, opcode, payload = self.recv_frame()
            if opcode == OP_PING:
                self.send(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_received = (code, payload[2:].decode("utf-8", "replace"))
                return OP_CLOSE, payload
            if opcode in (OP_TEXT, OP_BINARY):
                first_op, parts = opcode, [payload]
            elif opcode == OP_CONT and first_op is not None:
                parts.append(payload)
            else:
                raise WSClosed(f"unexpected opcode {opcode}")
            if fin:
                return first_op, b"".join(parts)

    def send(self, opcode, payload=b""):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([n])
        elif n < 65536:
            header += bytes([126]) + struct.pack("!H", n)
        else:
            header += bytes([127]) + struct.pack("!Q", n)
        with self.wlock:
            if self.close_sent:
                return
            if opcode == OP_CLOSE:
                self.close_sent = True
            self.sock.sendall(header + payload)

    def close(self, code=1000, reason=""):
        try:
            self.send(OP_CLOSE, struct.pack("!H", code) + reason.encode())
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------------------
# the fake API server


@dataclass
class Request:
    method: str
    path: str
    query: dict
    user: Optional[str]
    status: int = 0
    verb: str = ""
    resource: str = ""
    name: str = ""
    namespace: str = ""
    subprotocol: str = ""


@dataclass
class Forward:
    """One active port-forward websocket."""
    namespace: str
    pod: str
    ports: list
    targets: list = field(default_factory=list)  # dialed sockets (None where the dial failed)
    ws: Optional[ServerWebSocket] = None
    done: threading.Event = field(default_factory=threading.Event)

    def kill(self):
        """The pod went away: its connections end, as when the container is terminated."""
        for s in self.targets:
            if s is not None:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _TLSServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, api, ssl_context):
        self.api = api
        self.ssl_context = ssl_context
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address):
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                             name="fake-kube-conn", daemon=True)
        t.start()

    def finish_request(self, request, client_address):
        # TLS handshake in the connection's own thread, not in the accept loop.
        request.settimeout(10)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        tls.settimeout(None)
        with self.api.lock:
            self.api._conns.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.api.lock:
                self.api._conns.discard(tls)
            try:
                tls.close()
            except OSError:
                pass


class FakeKubeAPI:
    """The fake API server. Use as a context manager, or start()/stop()."""

    def __init__(self, token="test-token", user="tester"):
        self.tokens = {token: user}
        self.token = token
        self.user = user
        self.lock = threading.RLock()
        self.store = {}  # (resource, namespace) -> {name: object}
        self.targets = {}  # (namespace, pod) -> {container port: (host, port)}
        self.deny = []  # (verb, resource, namespace or None, name or None)
        self.delays = {}  # (verb, resource) -> seconds to wait before answering (timeouts)
        self.requests = []
        self.forwards = []
        self.version = {"major": "1", "minor": "33", "gitVersion": "v1.33.0-kjs-fake",
                        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
                        "platform": "linux/amd64"}
        self._rv = 1000
        self._conns = set()
        self._server = None
        self._thread = None
        self.dir = tempfile.mkdtemp(prefix="kjs-kubeapi-")

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self):
        certs = make_certs()
        self.ca_path = os.path.join(self.dir, "ca.crt")
        shutil.copy(certs["ca"], self.ca_path)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs["cert"], certs["key"])
        self._server = _TLSServer(self, ctx)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-kube-api", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            with self.lock:
                forwards, conns = list(self.forwards), list(self._conns)
            for fw in forwards:
                fw.kill()
            for c in conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._thread.join(5)
            self._server = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    # -- kubeconfig -----------------------------------------------------------------------------------
    def kubeconfig(self, path=None, namespace=None, token=None, context="fake", cluster="fake", user=None,
                   extra_contexts=(), current=True, ca=True):
        """Write a kubeconfig for this server; returns its path. `extra_contexts`: dicts name/namespace/user."""
        user = user or self.user
        doc = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": cluster, "cluster": {"server": self.url, **(
                {"certificate-authority": self.ca_path} if ca else {"insecure-skip-tls-verify": True})}}],
            "users": [{"name": user, "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": {"cluster": cluster, "user": user,
                                                       **({"namespace": namespace} if namespace else {})}}],
        }
        for extra in extra_contexts:
            doc["contexts"].append({"name": extra["name"], "context": {
                "cluster": extra.get("cluster", cluster), "user": extra.get("user", user),
                **({"namespace": extra["namespace"]} if extra.get("namespace") else {})}})
        if current:
            doc["current-context"] = context
        path = path or os.path.join(self.dir, f"kubeconfig-{uuid.uuid4().hex[:8]}")
        with open(path, "w") as f:
            yaml.safe_dump(doc, f)
        return path

    # -- objects --------------------------------------------------------------------------------------
    def _next_rv(self):
        self._rv += 1
        return str(self._rv)

    def _meta(self, namespace, name, labels=None):
        return {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "labels": dict(labels or {}),
                "resourceVersion": self._next_rv(), "creationTimestamp": now_iso()}

    def _put(self, resource, namespace, obj):
        with self.lock:
            self.store.setdefault((resource, namespace), {})[obj["metadata"]["name"]] = obj
            return obj

    def add_service(self, namespace, name, ports, selector=None, labels=None, cluster_ip="10.96.0.10"):
        """ports: list of dicts {name, port, targetPort?, protocol?}; cluster_ip "None" for headless."""
        spec = {"ports": [{"protocol": "TCP", **p} for p in ports], "clusterIP": cluster_ip,
                "type": "ClusterIP", "sessionAffinity": "None"}
        if selector is not None:
            spec["selector"] = dict(selector)
        with self.lock:
            obj = {"kind": "Service", "apiVersion": "v1", "metadata": self._meta(namespace, name, labels),
                   "spec": spec, "status": {"loadBalancer": {}}}
            return self._put("services", namespace, obj)

    def add_external_name_service(self, namespace, name, external_name, ports=(), labels=None):
        """A `type: ExternalName` Service: a DNS alias (CNAME) of `external_name`, no clusterIP, no selector,
        so no Endpoints; `ports` are informational, as on a real server."""
        spec = {"type": "ExternalName", "externalName": external_name, "sessionAffinity": "None"}
        if ports:
            spec["ports"] = [{"protocol": "TCP", **p} for p in ports]
        with self.lock:
            obj = {"kind": "Service", "apiVersion": "v1", "metadata": self._meta(namespace, name, labels),
                   "spec": spec, "status": {"loadBalancer": {}}}
            return self._put("services", namespace, obj)

    def add_pod(self, namespace, name, labels=None, ports=(("client", 4222),), targets=None, ready=True,
                phase="Running", restarts=0, ready_since=-60, created=-120, node="node-1"):
        """ports: (name, containerPort) of the single container; targets: {containerPort: (host, port)}
        where traffic forwarded to that pod port really goes."""
        with self.lock:
            meta = self._meta(namespace, name, labels)
            meta["creationTimestamp"] = now_iso(created)
            container_ports = [{"containerPort": p, "protocol": "TCP", **({"name": n} if n else {})}
                               for n, p in ports]
            obj = {"kind": "Pod", "apiVersion": "v1", "metadata": meta,
                   "spec": {"containers": [{"name": "nats", "image": "nats:2.10", "ports": container_ports}],
                            **({"nodeName": node} if node else {})},
                   "status": {"phase": phase, "podIP": "10.244.0.%d" % (len(self.targets) + 10),
                              "conditions": [], "containerStatuses": [
                                  {"name": "nats", "ready": bool(ready), "restartCount": restarts,
                                   "image": "nats:2.10", "imageID": "", "started": phase == "Running"}]}}
            self._set_conditions(obj, ready, ready_since)
            self.targets[(namespace, name)] = dict(targets or {})
            return self._put("pods", namespace, obj)

    @staticmethod
    def _set_conditions(pod, ready, since):
        when = now_iso(since if isinstance(since, (int, float)) else 0) if not isinstance(since, str) else since
        pod["status"]["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": when},
            {"type": "Initialized", "status": "True", "lastTransitionTime": when},
            {"type": "ContainersReady", "status": "True" if ready else "False", "lastTransitionTime": when},
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": when},
        ]
        for cs in pod["status"]["containerStatuses"]:
            cs["ready"] = bool(ready)

    def set_ready(self, namespace, name, ready, phase=None):
        with self.lock:
            pod = self.store[("pods", namespace)][name]
            self._set_conditions(pod, ready, 0)
            if phase:
                pod["status"]["phase"] = phase
            pod["metadata"]["resourceVersion"] = self._next_rv()

    def delete_pod(self, namespace, name):
        """Remove the pod and end its active forwards."""
        with self.lock:
            self.store.get(("pods", namespace), {}).pop(name, None)
            self.targets.pop((namespace, name), None)
            doomed = [fw for fw in self.forwards if fw.namespace == namespace and fw.pod == name]
        for fw in doomed:
            fw.kill()

    def add_secret(self, namespace, name, data):
        with self.lock:
            encoded = {k: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode()
                       for k, v in data.items()}
            obj = {"kind": "Secret", "apiVersion": "v1", "metadata": self._meta(namespace, name),
                   "type": "Opaque", "data": encoded}
            return self._put("secrets", namespace, obj)

    def set_endpoints(self, namespace, name, subsets):
        """Explicit Endpoints (for Services without a selector)."""
        with self.lock:
            obj = {"kind": "Endpoints", "apiVersion": "v1", "metadata": self._meta(namespace, name),
                   "subsets": subsets}
            return self._put("endpoints", namespace, obj)

    def deny_access(self, verb, resource, namespace=None, name=None):
        """Simulate RBAC: answer 403 for this verb on this resource (e.g. "create", "pods/portforward")."""
        with self.lock:
            self.deny.append((verb, resource, namespace, name))

    def delay(self, verb, resource, seconds):
        """Answer this verb on this resource only after `seconds` (to test request timeouts)."""
        with self.lock:
            self.delays[(verb, resource)] = seconds

    def calls(self, verb=None, resource=None):
        with self.lock:
            return [r for r in self.requests
                    if (verb is None or r.verb == verb) and (resource is None or r.resource == resource)]

    def active_forwards(self):
        with self.lock:
            return [fw for fw in self.forwards if not fw.done.is_set()]

    # -- computed objects -----------------------------------------------------------------------------
    def _endpoints_for(self, namespace, name):
        with self.lock:
            stored = self.store.get(("endpoints", namespace), {}).get(name)
            if stored is not None:
                return copy.deepcopy(stored)
            svc = self.store.get(("services", namespace), {}).get(name)
            if svc is None or "selector" not in svc["spec"]:
                return None
            reqs = [(k, "=", [v]) for k, v in svc["spec"]["selector"].items()]
            ready, not_ready = [], []
            for pod in self.store.get(("pods", namespace), {}).values():
                if not _matches(reqs, pod["metadata"].get("labels")):
                    continue
                addr = {"ip": pod["status"].get("podIP", ""), "nodeName": pod["spec"].get("nodeName"),
                        "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod["metadata"]["name"],
                                      "uid": pod["metadata"]["uid"]}}
                (ready if _pod_ready(pod) else not_ready).append(addr)
            ports = [{"name": p.get("name"), "port": p["targetPort"] if isinstance(p.get("targetPort"), int)
                      else p["port"], "protocol": "TCP"} for p in svc["spec"]["ports"]]
            subset = {"ports": ports}
            if ready:
                subset["addresses"] = ready
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            return {"kind": "Endpoints", "apiVersion": "v1",
                    "metadata": {"name": name, "namespace": namespace, "resourceVersion": self._next_rv(),
                                 "labels": svc["metadata"].get("labels", {})},
                    "subsets": [subset] if (ready or not_ready) else []}

    def _denied(self, verb, resource, namespace, name):
        with self.lock:
            for d_verb, d_res, d_ns, d_name in self.deny:
                if d_verb in (verb, "*") and d_res in (resource, "*") and d_ns in (None, namespace) \
                        and d_name in (None, name):
                    return True
        return False


def _pod_ready(pod):
    if pod["status"].get("phase") != "Running":
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kjs-fake-kube-apiserver"

    def log_message(self, fmt, *args):  # quiet
        pass

    @property
    def api(self):
        return self.server.api

    # -- plumbing -------------------------------------------------------------------------------------
    def _send_json(self, code, obj, record=None):
        body = json.dumps(obj).encode()
        if record is not None:
            record.status = code  # before the client can see the answer
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(body)

    def _status(self, record, code, reason, message, details=None):
        self._send_json(code, status_body(code, reason, message, details), record)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def _dispatch(self, method):
        parts = urlsplit(self.path)
        query = {k: v for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        auth = self.headers.get("Authorization", "")
        scheme, _, credential = auth.partition(" ")
        user = self.api.tokens.get(credential.strip()) if scheme.lower() == "bearer" else None
        record = Request(method=method, path=parts.path, query=query, user=user)
        with self.api.lock:
            self.api.requests.append(record)
        if user is None:
            return self._status(record, 401, "Unauthorized", "Unauthorized")
        try:
            self._route(method, parts.path, query, record)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    # -- routes ---------------------------------------------------------------------------------------
    def _route(self, method, path, query, record):
        path = path.rstrip("/") or "/"
        segs = [s for s in path.split("/") if s]
        if path == "/version":
            return self._send_json(200, self.api.version, record)
        if path == "/api":
            return self._send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.api.port}"}]}, record)
        if path == "/apis":
            return self._send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}, record)
        if path == "/api/v1":
            return self._send_json(200, _api_resources(), record)
        if segs[:2] != ["api", "v1"]:
            return self._status(record, 404, "NotFound", "the server could not find the requested resource")
        rest = segs[2:]
        if method != "GET":
            return self._status(record, 405, "MethodNotAllowed",
                                "the server does not allow this method on the requested resource")
        if rest and rest[0] == "namespaces" and len(rest) >= 3:
            ns, resource, tail = rest[1], rest[2], rest[3:]
        elif rest and rest[0] == "namespaces" and len(rest) == 2:
            return self._get_namespace(rest[1], record)
        elif len(rest) == 1:
            ns, resource, tail = None, rest[0], []
        else:
            return self._status(record, 404, "NotFound", "the server could not find the requested resource")
        record.namespace, record.resource = ns or "", resource
        if resource not in RESOURCES:
            return self._status(record, 404, "NotFound", "the server could not find the requested resource")
        if len(tail) == 2 and resource == "pods" and tail[1] == "portforward":
            record.verb, record.resource, record.name = "create", "pods/portforward", tail[0]
            return self._portforward(ns, tail[0], query, record)
        if len(tail) > 1:
            return self._status(record, 404, "NotFound", "the server could not find the requested resource")
        if tail:
            record.verb, record.name = "get", tail[0]
            if self._forbid(record):
                return
            return self._get(ns, resource, tail[0], record)
        record.verb = "watch" if query.get("watch", [""])[0] in ("true", "1") else "list"
        if self._forbid(record):
            return
        return self._list(ns, resource, query, record)

    def _forbid(self, record):
        with self.api.lock:
            delay = self.api.delays.get((record.verb, record.resource))
        if delay:
            time.sleep(delay)
        if not self.api._denied(record.verb, record.resource, record.namespace, record.name):
            return False
        base = record.resource.split("/")[0]
        what = f'{base} "{record.name}"' if record.name else base
        where = f' in the namespace "{record.namespace}"' if record.namespace else " at the cluster scope"
        message = (f'{what} is forbidden: User "{record.user}" cannot {record.verb} resource '
                   f'"{record.resource}" in API group ""{where}')
        details = {"kind": record.resource.split("/")[0], **({"name": record.name} if record.name else {})}
        self._status(record, 403, "Forbidden", message, details)
        return True

    def _get_namespace(self, ns, record):
        record.verb, record.resource, record.name = "get", "namespaces", ns
        with self.api.lock:
            known = {k[1] for k in self.api.store} | {"default"}
        if ns not in known:
            return self._status(record, 404, "NotFound", f'namespaces "{ns}" not found',
                                {"name": ns, "kind": "namespaces"})
        return self._send_json(200, {"kind": "Namespace", "apiVersion": "v1",
                                     "metadata": {"name": ns}, "status": {"phase": "Active"}}, record)

    def _get(self, ns, resource, name, record):
        if resource == "endpoints":
            obj = self.api._endpoints_for(ns, name)
        else:
            with self.api.lock:
                obj = copy.deepcopy(self.api.store.get((resource, ns), {}).get(name))
        if obj is None:
            return self._status(record, 404, "NotFound", f'{resource} "{name}" not found',
                                {"name": name, "kind": resource})
        return self._send_json(200, obj, record)

    def _list(self, ns, resource, query, record):
        label_sel = query.get("labelSelector", [""])[0]
        field_sel = query.get("fieldSelector", [""])[0]
        reqs = _parse_selector(label_sel)
        with self.api.lock:
            if resource == "endpoints":
                names = {n for (r, n_s), objs in self.api.store.items() if r == "services" and n_s == ns
                         for n in objs}
                objs = [o for o in (self.api._endpoints_for(ns, n) for n in sorted(names)) if o]
            else:
                objs = [copy.deepcopy(o) for (r, n_s), group in sorted(self.api.store.items())
                        if r == resource and (ns is None or n_s == ns) for o in group.values()]
            rv = self.api._next_rv()
        try:
            items = [o for o in objs if _matches(reqs, o["metadata"].get("labels"))
                     and _fields_match(field_sel, o)]
        except ValueError as exc:
            return self._status(record, 400, "BadRequest", str(exc))
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        for o in items:  # list items carry no kind/apiVersion, like the real server
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return self._send_json(200, {"kind": KINDS[resource] + "List", "apiVersion": "v1",
                                     "metadata": {"resourceVersion": rv}, "items": items}, record)

    # -- pods/portforward over websocket ----------------------------------------------------------------
    def _portforward(self, ns, name, query, record):
        # A websocket upgrade is a GET, authorized as `get`; newer API servers also require `create`
        # (AuthorizePodWebsocketUpgradeCreatePermission). Deny either to get the matching 403.
        record.verb = "get"
        if self._forbid(record):
            return
        record.verb = "create"
        if self._forbid(record):
            return
        with self.api.lock:
            pod = copy.deepcopy(self.api.store.get(("pods", ns), {}).get(name))
            targets = dict(self.api.targets.get((ns, name), {}))
        if pod is None:
            return self._status(record, 404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        ports = []
        for value in query.get("ports", []):
            for p in value.split(","):
                try:
                    port = int(p)
                except ValueError:
                    return self._status(record, 400, "BadRequest", f'unable to parse "{p}" as a port: invalid syntax')
                if not 0 < port < 65536:
                    return self._status(record, 400, "BadRequest", f"port {port} must be > 0 and < 65536")
                ports.append(port)
        if not ports:
            return self._status(record, 400, "BadRequest", "at least 1 port must be specified")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not self.headers.get("Sec-WebSocket-Key"):
            return self._status(record, 400, "BadRequest", "Upgrade request required")
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        chosen = next((p for p in offered if p in PORTFORWARD_PROTOCOLS), None)
        if offered and chosen is None:
            # golang.org/x/net/websocket answers a failed subprotocol negotiation with 403
            return self._status(record, 403, "Forbidden", f"requested protocol(s) are not supported: {offered}; "
                                                          f"supports {list(PORTFORWARD_PROTOCOLS)}")
        record.subprotocol = chosen or ""
        record.status = 101
        accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + WS_GUID).encode()).digest())
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        if chosen:
            self.send_header("Sec-WebSocket-Protocol", chosen)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        ws = ServerWebSocket(self.connection, self.rfile)
        fw = Forward(namespace=ns, pod=name, ports=ports, ws=ws)
        with self.api.lock:
            self.api.forwards.append(fw)
        try:
            self._serve_forward(fw, pod, targets)
        finally:
            fw.done.set()

    def _serve_forward(self, fw, pod, targets):
        ws = fw.ws
        uid = pod["metadata"]["uid"]
        for i, port in enumerate(fw.ports):
            lo_hi = struct.pack("<H", port)
            ws.send(OP_BINARY, bytes([2 * i]) + lo_hi)
            ws.send(OP_BINARY, bytes([2 * i + 1]) + lo_hi)
        pumps = []
        for i, port in enumerate(fw.ports):
            target, error = None, None
            addr = targets.get(port)
            if pod["status"].get("phase") != "Running":
                error = "pod is not running"
            elif addr is None:
                error = (f"failed to connect to localhost:{port} inside namespace \"{fw.namespace}\": "
                         f"dial tcp4 127.0.0.1:{port}: connect: connection refused")
            else:
                try:
                    target = socket.create_connection(addr, timeout=5)
                    target.settimeout(None)
                    target.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError as exc:
                    error = f"failed to connect to localhost:{port}: {exc}"
            fw.targets.append(target)
            if error:
                msg = f"error forwarding port {port} to pod {fw.pod}, uid {uid}: {error}"
                ws.send(OP_BINARY, bytes([2 * i + 1]) + msg.encode())
                continue
            t = threading.Thread(target=self._pump, args=(fw, i, target), daemon=True,
                                 name=f"fake-kube-pf-{fw.pod}-{port}")
            t.start()
            pumps.append(t)
        reader = threading.Thread(target=self._read_client, args=(fw,), daemon=True,
                                  name=f"fake-kube-pf-read-{fw.pod}")
        reader.start()
        for t in pumps:  # the forward ends when every port's pod side is finished ...
            t.join()
        ws.close(1000)  # ... then a normal close, and TCP close once the client answered (or after 2 s)
        reader.join(2)
        for s in fw.targets:
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _pump(self, fw, i, target):
        """Pod -> client for port index i."""
        try:
            while True:
                data = target.recv(65536)
                if not data:
                    break
                fw.ws.send(OP_BINARY, bytes([2 * i]) + data)
        except OSError:
            pass

    def _read_client(self, fw):
        """Client -> pod; a close frame or EOF from the client ends every port."""
        try:
            while True:
                opcode, payload = fw.ws.recv_message()
                if opcode == OP_CLOSE:
                    fw.ws.close(1000)
                    break
                if not payload:
                    continue
                channel, data = payload[0], payload[1:]
                i = channel // 2
                if channel % 2 == 0 and i < len(fw.targets) and fw.targets[i] is not None and data:
                    try:
                        fw.targets[i].sendall(data)
                    except OSError:
                        pass
        except (WSClosed, OSError, ssl.SSLError, ValueError):
            pass
        fw.kill()  # the client side ended: end the pod side too


def _api_resources():
    def res(name, kind, verbs, namespaced=True):
        return {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs}

    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        res("namespaces", "Namespace", ["get", "list"], namespaced=False),
        res("services", "Service", ["get", "list"]),
        res("pods", "Pod", ["get", "list"]),
        res("pods/portforward", "PodPortForwardOptions", ["create", "get"]),
        res("endpoints", "Endpoints", ["get", "list"]),
        res("secrets", "Secret", ["get", "list"]),
    ]}


@pytest.fixture
def kube_api():
    """A running fake API server (import this fixture into a test module)."""
    with FakeKubeAPI() as api:
        yield api


@pytest.fixture
def kenv(monkeypatch, kube_api):
    """kube_api for in-process tests: no in-cluster detection, KUBECONFIG at its kubeconfig for namespace swe;
    `kenv.use(path)` points KUBECONFIG elsewhere for this test."""
    for var in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KJS_INCLUSTER_DIR"):
        monkeypatch.delenv(var, raising=False)

    def use(path):
        monkeypatch.setenv("KUBECONFIG", str(path))
        return path

    kube_api.use = use
    use(kube_api.kubeconfig(namespace="swe"))
    return kube_api


# ---------------------------------------------------------------------------------------------------------
# ready-made layouts


def helm_chart_layout(api, namespace, target, release="nats", replicas=1, named_target=True):
    """What the official NATS Helm chart creates: a headless Service and a client Service, both labelled
    app.kubernetes.io/name=nats + component=nats, targetPort `nats` (named) on StatefulSet pods."""
    labels = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": release,
              "app.kubernetes.io/component": "nats"}
    selector = dict(labels)
    tport = "nats" if named_target else 4222
    api.add_service(namespace, release, [{"name": "nats", "port": 4222, "targetPort": tport, "appProtocol": "tcp"}],
                    selector=selector, labels=labels)
    api.add_service(namespace, f"{release}-headless",
                    [{"name": "nats", "port": 4222, "targetPort": tport},
                     {"name": "cluster", "port": 6222, "targetPort": "cluster"},
                     {"name": "monitor", "port": 8222, "targetPort": "monitor"}],
                    selector=selector, labels=labels, cluster_ip="None")
    for i in range(replicas):
        api.add_pod(namespace, f"{release}-{i}", labels=dict(labels, **{"statefulset.kubernetes.io/pod-name":
                                                                          f"{release}-{i}"}),
                    ports=(("nats", 4222), ("cluster", 6222), ("monitor", 8222)),
                    targets={4222: target} if not isinstance(target, list) else {4222: target[i]})


def fleet_layout(api, namespace, target, replicas=1):
    """swe-ai-fleet's manifests: StatefulSet pods nats-N labelled app: nats, headless Service `nats` with
    port `client` 4222 (numeric targetPort)."""
    api.add_service(namespace, "nats", [{"name": "client", "port": 4222, "targetPort": 4222},
                                        {"name": "monitoring", "port": 8222, "targetPort": 8222}],
                    selector={"app": "nats"}, labels={"app": "nats"}, cluster_ip="None")
    for i in range(replicas):
        api.add_pod(namespace, f"nats-{i}", labels={"app": "nats"},
                    ports=(("client", 4222), ("monitoring", 8222)),
                    targets={4222: target} if not isinstance(target, list) else {4222: target[i]})
