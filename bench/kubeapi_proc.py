"""The fake Kubernetes API server of tests/kubeapi.py in a process of its own, for the port-forward figures.

In its own process (like a real API server) its websocket relay does not compete for the benchmark's GIL with
the ApiRecorder. Protocol on stdin/stdout, one line each:

    python bench/kubeapi_proc.py NAMESPACE   ->  prints the kubeconfig path
    point PORT                               ->  (re)creates the NATS Services and pod, port 4222 -> 127.0.0.1:PORT;
                                                 prints "ok"
    end of input                             ->  stops
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kubeapi import FakeKubeAPI, helm_chart_layout  # noqa: E402


def main(namespace):
    api = FakeKubeAPI().start()
    try:
        print(api.kubeconfig(namespace=namespace), flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["point"]:
                helm_chart_layout(api, namespace, ("127.0.0.1", int(words[1])))
                print("ok", flush=True)
    finally:
        api.stop()


if __name__ == "__main__":
    main(sys.argv[1])
