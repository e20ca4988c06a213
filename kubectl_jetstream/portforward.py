"""Port-forward to a pod through the Kubernetes API: a local listener on 127.0.0.1 whose every accepted TCP
connection gets its own `pods/portforward` websocket, bridged both ways.

The websocket is opened by the kubernetes client's own websocket function,
`kubernetes.stream.ws_client.create_websocket(configuration, url, headers)`, with the URL and credentials the
generated `CoreV1Api.connect_get_namespaced_pod_portforward` would give it through `stream()` (which needs the
generated API classes: see k8s.py), so the TLS settings, proxy and subprotocol offer are the client's own; no
thread is started. This module then speaks the port-forward channel protocol (v4.channel.k8s.io) itself on
that websocket:

- the server opens each channel with a frame `[channel, port_lo, port_hi]` (data channel 0, error channel 1);
- data frames are `[0] + bytes` in both directions; anything on channel 1 after its header is an error text
  (`error forwarding port 4222 to pod nats-0, uid ...: ...`) and ends the forward.

Why not `kubernetes.stream.portforward()`? Its `PortForward` object starts a proxy thread per websocket that
copies between the websocket and a socketpair: that is one more thread and one more copy per byte, the thread
cannot be joined (it is not exposed), it dies with a traceback when the application closes its socket while
bytes are pending, it leaves the websocket's socket open when the server closes first, and the error channel
is only visible after the fact. The forward must also tell "the pod never answered" (retry on another pod,
transparently to the client) from "the connection was in use and broke" (close the client so it reconnects),
which needs the error channel and the first data byte to be seen as they arrive. So each connection is served
by one thread running a select() loop over the client socket and the websocket's socket: no polling, no
sleeps, no extra hop; every thread ends when the forwarder is closed.

Every websocket is opened with its own copy of the Configuration (the credentials' refresh hook updates the
configuration it is given), so connections opened by different threads never share one.
"""
import ast
import copy
import json
import re
import select
import socket
import ssl
import threading
import time

from websocket import ABNF, WebSocketConnectionClosedException

from .k8s import ApiException, api_path, api_url, auth_headers, create_websocket, get_websocket_url

from .errors import KubernetesError, Unreachable

DATA_CHANNEL = 0
ERROR_CHANNEL = 1
RECV_SIZE = 256 * 1024
CLOSE_TIMEOUT = 1.0  # seconds to wait for the server's answer to our close frame
DRAIN_TIMEOUT = 1.0  # seconds to wait for the client to close after we shut down our side


class PortForwardError(KubernetesError):
    """Opening the forward failed. `retryable`: another pod may work (the pod is gone or not running)."""

    def __init__(self, message, status=None, retryable=False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


def _status_message(body):
    """The `message` of the Status JSON in a handshake error (some websocket-client versions put the body in
    as the repr of bytes: b'{...}')."""
    body = (body or "").strip()
    if body[:2] in ("b'", 'b"'):
        try:
            body = ast.literal_eval(body).decode("utf-8", "replace")
        except (ValueError, SyntaxError):
            pass
    match = re.search(r"\{.*\}", body, re.S)
    if match:
        try:
            return json.loads(match.group(0)).get("message") or ""
        except ValueError:
            pass
    return ""


def handshake_error(exc, namespace, pod, port):
    """ApiException(status=0, reason="Handshake status 403 Forbidden -+-+- headers -+-+- body") -> error."""
    reason = str(exc.reason or exc)
    match = re.search(r"Handshake status (\d+)", reason)
    status = int(match.group(1)) if match else (exc.status or None)
    message = _status_message(reason.split("-+-+-")[-1]) if match else ""
    where = f"pod {pod} in namespace {namespace}"
    if status == 401:
        return PortForwardError(
            f"unauthorized (401) opening a port-forward to {where}: the Kubernetes API rejected the "
            f"credentials; check the kubeconfig user (token expired?)", status)
    if status == 403:
        # The websocket upgrade is authorized as `get`, and newer API servers also check `create`: name the
        # one the server's message says was denied.
        denied = re.search(r'cannot (\w+) resource "pods/portforward"', message)
        if message and not denied:  # not RBAC (a refused subprotocol, an admission webhook): say what it is
            return PortForwardError(f"port-forward to {where} refused (403 Forbidden): {message}", status)
        needs = f"`{denied.group(1)}`" if denied else "`get` and `create`"
        return PortForwardError(
            f"forbidden: the user needs {needs} on `pods/portforward` in namespace {namespace}"
            + (f": {message}" if message else "") + "; see docs/rbac.yaml", status)
    if status == 404:
        return PortForwardError(f"{where} not found (deleted?)", status, retryable=True)
    if status:
        # 400 pod not running / container not found, 5xx kubelet or proxy trouble: another pod may do.
        return PortForwardError(f"port-forward to {where} port {port} failed: HTTP {status}"
                                + (f": {message}" if message else ""), status, retryable=True)
    return PortForwardError(f"cannot open a port-forward to {where}: {reason}", retryable=True)


PORTFORWARD_PATH = "/api/v1/namespaces/{namespace}/pods/{name}/portforward"


def open_websocket(configuration, namespace, pod, port):
    """Open one pods/portforward websocket for `port`; returns the connected websocket.WebSocket."""
    configuration = copy.deepcopy(configuration)
    try:
        query = [("ports", str(port))]
        headers = auth_headers(configuration, query)
        url = get_websocket_url(api_url(configuration, api_path(PORTFORWARD_PATH, namespace=namespace, name=pod),
                                        query))
        try:
            ws = create_websocket(configuration, url, headers)
        except Exception as exc:  # what the client's stream() makes of any failure (ws_client.websocket_call)
            raise ApiException(status=0, reason=str(exc)) from None
    except ApiException as exc:
        raise handshake_error(exc, namespace, pod, port) from None
    except (OSError, ssl.SSLError) as exc:
        raise PortForwardError(f"cannot open a port-forward to pod {pod}: {exc}", retryable=True) from None
    ws.settimeout(None)
    return ws


class Target:
    """A pod and the pod port to forward to."""

    __slots__ = ("pod", "port")

    def __init__(self, pod, port):
        self.pod = pod
        self.port = int(port)

    def __repr__(self):
        return f"{self.pod}:{self.port}"

    def __eq__(self, other):
        return isinstance(other, Target) and (self.pod, self.port) == (other.pod, other.port)

    def __hash__(self):
        return hash((self.pod, self.port))


# outcomes of one bridged websocket
CLIENT_CLOSED, POD_CLOSED, POD_ERROR, STOPPED = "client closed", "pod closed", "pod error", "stopped"


class _Conn:
    """State of one accepted client connection across failovers."""

    def __init__(self, sock, number):
        self.sock = sock
        self.number = number
        self.delivered = False  # a byte from a pod reached the client: no transparent failover any more
        self.pending = []  # client bytes sent before that, replayed on the next pod if this one fails
        self.client_eof = False


class PortForwarder:
    """Listen on 127.0.0.1:<free port>; forward each accepted connection to `target` through the API.

    `reselect(exclude)` returns another `Target` (a fresh ready pod, not in `exclude`) or raises
    `Unreachable`; it is called when the forward to the current pod fails. Use as a context manager:
    everything (listener, threads, websockets) is closed on exit.
    """

    def __init__(self, configuration, namespace, target, reselect=None, log=None, max_attempts=4):
        self.configuration = configuration
        self.namespace = namespace
        self.target = target
        self.reselect = reselect
        self.log = log or (lambda message, level=1: None)
        self.max_attempts = max_attempts
        self.last_error = None  # the last reason a client connection could not be served (for messages)
        self.connections = 0
        self._suspect = False  # the current target failed; re-select before using it again
        self._lock = threading.Lock()
        self._select_lock = threading.Lock()
        self._threads = set()
        self._stopped = False
        self._warm = None  # websocket opened by start() to report errors early; used by the first connection
        self._listener = None
        self._acceptor = None
        self._wake_r, self._wake_w = socket.socketpair()
        self.local_port = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self):
        """Open the first websocket now (so 401/403/404 are reported before anything else), then listen."""
        try:
            self._warm = self._open(self.target)
        except PortForwardError as exc:
            if not (exc.retryable and self.reselect):
                self._close_wake()
                raise
            self.log(f"port-forward to pod {self.target.pod} failed ({exc}); selecting another ready pod")
            try:
                self.target = self.reselect({self.target.pod})
                self._warm = self._open(self.target)
            except Exception:
                self._close_wake()
                raise
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        self._listener = listener
        self.local_port = listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name="kubectl-jetstream port-forward",
                                          daemon=True)
        self._acceptor.start()
        return self.local_port

    def close(self, timeout=5.0):
        """Stop listening, end every connection and thread. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            threads = list(self._threads)
        try:
            self._wake_w.send(b"x")  # level-triggered: every select() below sees it until the pair is closed
        except OSError:
            pass
        if self._acceptor is not None:
            self._acceptor.join(timeout)
        for t in threads:
            t.join(timeout)
        with self._lock:
            threads = list(self._threads)
        for t in threads:  # connections accepted while stopping
            t.join(timeout)
        if self._listener is not None:
            self._listener.close()
        if self._warm is not None:
            _close_ws(self._warm, timeout=0.2)
            self._warm = None
        self._close_wake()

    def _close_wake(self):
        for s in (self._wake_r, self._wake_w):
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- accepting ------------------------------------------------------------------------------------
    def _accept_loop(self):
        while True:
            try:
                readable, _, _ = select.select([self._listener, self._wake_r], [], [])
            except (OSError, ValueError):
                return
            if self._wake_r in readable:
                return
            try:
                sock, _ = self._listener.accept()
            except OSError:
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._stopped:
                    sock.close()
                    return
                self.connections += 1
                conn = _Conn(sock, self.connections)
                t = threading.Thread(target=self._serve, args=(conn,), daemon=True,
                                     name=f"kubectl-jetstream port-forward #{conn.number}")
                self._threads.add(t)
            t.start()

    # -- one client connection ------------------------------------------------------------------------
    def _open(self, target):
        return open_websocket(self.configuration, self.namespace, target.pod, target.port)

    def _next_target(self, exclude):
        """A new ready pod (re-listed), remembered for later connections."""
        if self.reselect is None:
            raise Unreachable(f"pod {self.target.pod} cannot be reached and no other pod can be chosen")
        with self._select_lock:
            target = self.reselect(exclude)
            with self._lock:
                if target != self.target:
                    self.log(f"port-forward: switching to pod {target.pod} port {target.port}")
                self.target = target
                self._suspect = False
            return target

    def _serve(self, conn):
        try:
            self._serve_conn(conn)
        except Exception as exc:  # never let a thread die with a traceback on the user's terminal
            self.last_error = str(exc)
            self.log(f"port-forward connection #{conn.number}: {type(exc).__name__}: {exc}")
        finally:
            _finish_client(conn.sock, self._wake_r)
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _serve_conn(self, conn):
        excluded = set()
        cause = None  # why the last pod failed, for the message if no other pod can be used

        def give_up(reason):
            self.last_error = f"{cause}; {reason}" if cause else str(reason)
            self.log(f"port-forward connection #{conn.number}: {reason}")

        with self._lock:
            ws, self._warm = self._warm, None
            target, suspect = self.target, self._suspect
        if ws is None and suspect:
            try:
                target = self._next_target(excluded)
            except Unreachable as exc:
                return give_up(exc)
        for _ in range(self.max_attempts):
            if self._stopped:
                if ws is not None:
                    _close_ws(ws, timeout=0.2)
                return
            if ws is None:
                try:
                    ws = self._open(target)
                except PortForwardError as exc:
                    cause = str(exc)
                    if not exc.retryable:
                        return give_up(exc)
                    self.log(f"port-forward to pod {target.pod} failed ({exc}); selecting another ready pod")
                    excluded.add(target.pod)
                    try:
                        target = self._next_target(excluded)
                    except Unreachable as exc2:
                        return give_up(exc2)
                    continue
            self.log(f"port-forward connection #{conn.number} -> pod {target.pod} port {target.port}", level=2)
            outcome, detail = self._bridge(ws, conn)
            ws = None
            if outcome in (CLIENT_CLOSED, STOPPED):
                return
            # The pod side ended or reported an error.
            with self._lock:
                if self.target == target:
                    self._suspect = True
            if outcome == POD_ERROR:
                cause = detail
                self.last_error = detail
                self.log(f"port-forward to pod {target.pod}: {detail}")
            else:
                cause = f"pod {target.pod} closed the connection ({detail})"
                self.log(f"port-forward to pod {target.pod} closed by the server ({detail})", level=2)
            if conn.delivered or conn.client_eof:
                return  # the client saw data from this pod: close it, it will reconnect
            excluded.add(target.pod)
            try:
                target = self._next_target(excluded)
            except Unreachable as exc:
                return give_up(exc)
        give_up(f"giving up after {self.max_attempts} attempts")

    def _bridge(self, ws, conn):
        """Copy between the client socket and the websocket until one side ends. Returns (outcome, detail)."""
        client = conn.sock
        wsock = ws.sock
        header_seen = set()
        outcome, detail = None, ""
        try:
            for data in conn.pending:  # replay what the client sent to a pod that never answered
                ws.send(bytes([DATA_CHANNEL]) + data, ABNF.OPCODE_BINARY)
            while outcome is None:
                if isinstance(wsock, ssl.SSLSocket) and wsock.pending():
                    readable = [wsock]  # decrypted bytes already buffered: select() would not see them
                else:
                    readable, _, _ = select.select([client, wsock, self._wake_r], [], [])
                if self._wake_r in readable:
                    outcome = STOPPED
                    break
                if wsock in readable:
                    opcode, frame = ws.recv_data_frame(True)
                    if opcode == ABNF.OPCODE_CLOSE:
                        code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else 1005
                        outcome, detail = POD_CLOSED, f"close code {code}"
                        break
                    if opcode in (ABNF.OPCODE_BINARY, ABNF.OPCODE_TEXT) and frame.data:
                        data = frame.data if isinstance(frame.data, bytes) else frame.data.encode()
                        channel, payload = data[0], data[1:]
                        if channel not in header_seen:
                            header_seen.add(channel)  # [channel, port_lo, port_hi] opens each channel
                            continue
                        if channel == DATA_CHANNEL and payload:
                            try:
                                client.sendall(payload)
                            except OSError:
                                conn.client_eof = True
                                outcome = CLIENT_CLOSED
                                break
                            if not conn.delivered:
                                conn.delivered = True
                                conn.pending = []
                        elif channel == ERROR_CHANNEL and payload:
                            outcome, detail = POD_ERROR, payload.decode("utf-8", "replace").strip()
                            break
                if client in readable:
                    try:
                        data = client.recv(RECV_SIZE)
                    except OSError:
                        data = b""
                    if not data:
                        conn.client_eof = True
                        outcome = CLIENT_CLOSED
                        break
                    if not conn.delivered:
                        conn.pending.append(data)
                    ws.send(bytes([DATA_CHANNEL]) + data, ABNF.OPCODE_BINARY)
        except (WebSocketConnectionClosedException, OSError, ssl.SSLError) as exc:  # the websocket's socket
            outcome, detail = POD_CLOSED, f"connection lost: {exc}"
        finally:
            if outcome == POD_CLOSED:
                # The server sent its close frame (websocket-client already answered it) or vanished.
                _shutdown_ws(ws)
            else:
                _close_ws(ws, timeout=0.2 if outcome == STOPPED else CLOSE_TIMEOUT)
        return outcome, detail


def _shutdown_ws(ws):
    try:
        ws.shutdown()
    except Exception:
        pass


def _close_ws(ws, timeout):
    """Close frame (1000), wait briefly for the server's answer, close the socket."""
    try:
        ws.close(timeout=timeout)
    except Exception:
        pass
    _shutdown_ws(ws)


def _finish_client(sock, wake):
    """End a client connection without losing bytes already sent to it: shut down our side, read until the
    client closes too (bounded), then close. Closing with unread bytes would reset the connection and could
    discard data still in flight to the client."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    deadline = time.monotonic() + DRAIN_TIMEOUT
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            readable, _, _ = select.select([sock, wake], [], [], remaining)
            if sock in readable:
                if not sock.recv(RECV_SIZE):
                    break
            elif wake in readable or not readable:
                break
    except (OSError, ValueError):
        pass
    try:
        sock.close()
    except OSError:
        pass
