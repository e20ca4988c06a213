#!/usr/bin/env bash
# Build the e2e harness binaries (etcd, kwok, kube-apiserver, kube-controller-manager) from Go modules
# into a cache outside git:  ${KJS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-jetstream-e2e}/bin
# (not under ~/.cache/kubectl-jetstream/, which the release zipapp owns and prunes).
#
# Each binary is stored as NAME.KEY, KEY being a hash of the Go module files
# that produce it (go.mod, go.sum, main.go and this script's ldflags, or the kwok version), with a
# symlink NAME -> NAME.KEY.  A binary is rebuilt only when its keyed file is
# missing, so a version bump in go.mod/go.sum rebuilds and nothing else does.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KJS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-jetstream-e2e}
BIN=$CACHE/bin
KWOK_VERSION=${KWOK_VERSION:-v0.7.0}
mkdir -p "$BIN"

export CGO_ENABLED=0
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
command -v go >/dev/null || { echo "build.sh: go is not on PATH" >&2; exit 2; }

start=$(date +%s)
built=()

key_of() { cat "$@" | sha256sum | cut -c1-16; }

# install NAME KEY BUILD-FUNCTION: run BUILD-FUNCTION OUT when BIN/NAME.KEY is missing
install_bin() {
  local name=$1 key=$2 fn=$3 out="$BIN/$1.$2"
  if [[ -x $out ]]; then
    echo "  $name: up to date ($key)"
  else
    echo "  $name: building ($key) ..."
    local t0; t0=$(date +%s)
    "$fn" "$out.tmp"
    mv -f "$out.tmp" "$out"
    echo "  $name: built in $(( $(date +%s) - t0 ))s"
    built+=("$name")
    # drop binaries of older keys
    find "$BIN" -maxdepth 1 -name "$name.*" ! -name "$name.$key" -delete
  fi
  ln -sfn "$name.$key" "$BIN/$name"
}

k8s_version=$(awk '{for (i = 1; i < NF; i++) if ($i == "k8s.io/kubernetes" && $(i+1) ~ /^v1\./) {print $(i+1); exit}}' "$here/kas/go.mod")
[[ $k8s_version =~ ^v1\.[0-9]+\.[0-9]+$ ]] || { echo "build.sh: no k8s.io/kubernetes version in kas/go.mod" >&2; exit 2; }
k8s_minor=$(echo "$k8s_version" | cut -d. -f2)

build_kas() {
  (cd "$here/kas" && go build -o "$1" -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$k8s_version \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$k8s_minor \
      -X k8s.io/component-base/version.gitTreeState=clean" .)
}
build_kcm() {
  (cd "$here/kas" && go build -o "$1" -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$k8s_version \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$k8s_minor \
      -X k8s.io/component-base/version.gitTreeState=clean" ./kcm)
}
build_etcd() {
  (cd "$here/etcd" && go build -o "$1" -ldflags "-s -w" .)
}
build_kwok() {
  local gobin; gobin=$(mktemp -d "$BIN/.kwok.XXXXXX")
  GOBIN=$gobin go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv -f "$gobin/kwok" "$1"; rmdir "$gobin"
}

echo "e2e build into $BIN"
install_bin etcd "$(key_of "$here/etcd/go.mod" "$here/etcd/go.sum" "$here/etcd/main.go")" build_etcd
install_bin kwok "$(echo "kwok@$KWOK_VERSION $(go env GOVERSION)" | sha256sum | cut -c1-16)" build_kwok
install_bin kube-apiserver "$(key_of "$here/kas/go.mod" "$here/kas/go.sum" "$here/kas/main.go" "$here/build.sh")" build_kas
install_bin kube-controller-manager "$(key_of "$here/kas/go.mod" "$here/kas/go.sum" "$here/kas/kcm/main.go" "$here/build.sh")" build_kcm

secs=$(( $(date +%s) - start ))
printf 'e2e build: %s in %d.%d minutes (%ds)\n' "${built[*]:-nothing to build}" $((secs / 60)) $(( (secs % 60) / 6 )) "$secs"
