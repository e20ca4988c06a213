"""One `pods/portforward` websocket: opening it, its handshake errors, and the port-forward channel protocol.

The websocket is opened by the kubernetes client's own websocket function,
`kubernetes.stream.ws_client.create_websocket(configuration, url, headers)`, with the URL and credentials the
generated `CoreV1Api.connect_get_namespaced_pod_portforward` would give it through `stream()` (which needs the
generated API classes: see k8s.py), so the TLS settings, proxy and subprotocol offer are the client's own; no
thread is started. `bridge` then speaks the port-forward channel protocol (v4.channel.k8s.io) itself on that
websocket:

- the server opens each channel with a frame `[channel, port_lo, port_hi]` (data channel 0, error channel 1);
- data frames are `[0] + bytes` in both directions; anything on channel 1 after its header is an error text
  (`error forwarding port 4222 to pod nats-0, uid ...: ...`) and ends the forward.

Every websocket is opened with its own copy of the Configuration (the credentials' refresh hook updates the
configuration it is given), so connections opened by different threads never share one.
"""
import ast
import copy
import json
import re
import select
import ssl

from websocket import ABNF, WebSocketConnectionClosedException

from ..errors import KubernetesError
from .k8s import ApiException, api_exception, api_path, api_url, auth_headers, create_websocket, get_websocket_url

DATA_CHANNEL = 0
ERROR_CHANNEL = 1
RECV_SIZE = 256 * 1024
CLOSE_TIMEOUT = 1.0  # seconds to wait for the server's answer to our close frame
# outcomes of one bridged websocket
CLIENT_CLOSED, POD_CLOSED, POD_ERROR, STOPPED = "client closed", "pod closed", "pod error", "stopped"


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
            raise api_exception(0, str(exc)) from None
    except ApiException as exc:
        raise handshake_error(exc, namespace, pod, port) from None
    except (OSError, ssl.SSLError) as exc:
        raise PortForwardError(f"cannot open a port-forward to pod {pod}: {exc}", retryable=True) from None
    ws.settimeout(None)
    return ws


def bridge(ws, conn, wake):
    """Copy between the client socket (`conn.sock`) and the websocket until one side ends or `wake` is readable
    (the forwarder stops). Client bytes sent before any pod byte reached the client are kept in `conn.pending`
    (replayed first), so a pod that never answered can be replaced transparently. Returns (outcome, detail)."""
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
                readable, _, _ = select.select([client, wsock, wake], [], [])
            if wake in readable:
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
            shutdown_ws(ws)
        else:
            close_ws(ws, timeout=0.2 if outcome == STOPPED else CLOSE_TIMEOUT)
    return outcome, detail


def shutdown_ws(ws):
    try:
        ws.shutdown()
    except Exception:
        pass


def close_ws(ws, timeout):
    """Close frame (1000), wait briefly for the server's answer, close the socket."""
    try:
        ws.close(timeout=timeout)
    except Exception:
        pass
    shutdown_ws(ws)

