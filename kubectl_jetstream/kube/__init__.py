"""The Kubernetes side of reaching NATS. Imports nothing itself: `discovery` is pure and cheap, the modules
that load the kubernetes client (`k8s` and everything above it) are imported only on the Kubernetes path.

    k8s.py          the kubernetes client's config, REST and websocket layers, without its generated API/models;
                    every helper whose shape differs between client versions
    config.py       kubeconfig (kubectl's loading rules) or the in-cluster service account -> a `Kube` client
    api.py          `Kube`: GETs of core objects as plain JSON; API errors -> the plugin's errors
    discovery.py    which Service, port and pod (pure rules over API JSON; ExternalName aliases followed)
    secrets.py      NATS credentials read from Secrets
    reach.py        `kube_endpoint` (Endpoint through Kubernetes: in-cluster or port-forward) and the wait loop
    portforward.py  the local 127.0.0.1 listener, one websocket per connection, failover to another pod
    websocket.py    one pods/portforward websocket: opening it (handshake errors) and the channel protocol
    child.py        the Kubernetes side of a command in a forked child (Endpoint over a pipe)
"""
