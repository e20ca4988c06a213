"""Port-forward to a pod through the Kubernetes API: a local listener on 127.0.0.1 whose every accepted TCP
connection gets its own `pods/portforward` websocket (websocket.py), bridged both ways.

Why not `kubernetes.stream.portforward()`? Its `PortForward` object starts a proxy thread per websocket that
copies between the websocket and a socketpair: that is one more thread and one more copy per byte, the thread
cannot be joined (it is not exposed), it dies with a traceback when the application closes its socket while
bytes are pending, it leaves the websocket's socket open when the server closes first, and the error channel
is only visible after the fact. The forward must also tell "the pod never answered" (retry on another pod,
transparently to the client) from "the connection was in use and broke" (close the client so it reconnects),
which needs the error channel and the first data byte to be seen as they arrive. So each connection is served
by one thread running a select() loop over the client socket and the websocket's socket: no polling, no
sleeps, no extra hop; every thread ends when the forwarder is closed.
"""
import select
import socket
import threading
import time

from ..errors import Unreachable
from .websocket import (CLIENT_CLOSED, POD_ERROR, RECV_SIZE, STOPPED, PortForwardError, bridge, close_ws,
                        open_websocket)

DRAIN_TIMEOUT = 1.0  # seconds to wait for the client to close after we shut down our side


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
            close_ws(self._warm, timeout=0.2)
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
                    close_ws(ws, timeout=0.2)
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
            outcome, detail = bridge(ws, conn, self._wake_r)
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
