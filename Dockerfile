# The image `kubectl jetstream job` runs (default ghcr.io/swe-ai-fleet/kubectl-jetstream:vVERSION), built from
# the release archive, with no pip install:
#   make dist && docker build --build-arg VERSION=$(python3 -c 'import kubectl_jetstream as k; print(k.__version__)') \
#       -t ghcr.io/swe-ai-fleet/kubectl-jetstream:v0.1.0 .
FROM python:3.12-alpine

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="kubectl-jetstream" \
      org.opencontainers.image.source="https://github.com/swe-ai-fleet/kubectl-jetstream" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="v${VERSION}"

# ADD unpacks a local tar.gz: kubectl-jetstream, kubectl_complete-jetstream and LICENSE, modes kept.
ADD dist/kubectl-jetstream-v${VERSION}.tar.gz /opt/kubectl-jetstream/

# The zipapp unpacks itself once into KUBECTL_JETSTREAM_CACHE so Python keeps bytecode; do that (and compile)
# now, since the Job's root filesystem is read-only.
ENV KUBECTL_JETSTREAM_CACHE=/opt/kubectl-jetstream/cache
RUN ln -s /opt/kubectl-jetstream/kubectl-jetstream /usr/local/bin/kubectl-jetstream \
    && kubectl-jetstream version --client \
    && python3 -m compileall -q /opt/kubectl-jetstream/cache \
    && chmod -R a+rX /opt/kubectl-jetstream

USER 65532:65532
ENTRYPOINT ["kubectl-jetstream"]
CMD ["version", "--client"]
