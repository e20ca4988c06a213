"""kubectl-jetstream: JetStream streams as code, applied through the Kubernetes API."""

__version__ = "0.1.0"
