#!/usr/bin/env bash
# Build the project's Dockerfile into a local image, unchanged.
#
#   scripts/image/build.sh            docker if its daemon answers, else buildah; the Dockerfile's
#                                     own base (python:3.11-slim, pulled from a registry)
#   scripts/image/build.sh --standin  buildah from a stand-in for python:3.11-slim made of Debian
#                                     packages (mmdebstrap): for machines that cannot pull images (CI)
#
# IMAGE names the result (default localhost/medusa-graphql-gateway:dev). The stand-in is cached:
# its rootfs under $CACHE_DIR, its image in buildah's store, remade when the host's CA bundle
# changes (package downloads inside the build go through a TLS-inspecting proxy here).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IMAGE="${IMAGE:-localhost/medusa-graphql-gateway:dev}"
STANDIN_IMAGE="${STANDIN_IMAGE:-localhost/python:3.11-slim-standin}"
CACHE_DIR="${CACHE_DIR:-/var/tmp/medusa-graphql-gateway/image}"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
# vfs: no overlay or fuse needed; chroot: no user namespaces needed (works as root in CI).
BUILDAH=(buildah --storage-driver vfs)

log() { printf '[image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

standin=0
case "${1:-}" in
  --standin) standin=1 ;;
  "") ;;
  *) die "unknown argument '$1' (usage: build.sh [--standin])" ;;
esac

# The stand-in: Debian bookworm's Python 3.11 as a local image. `passwd` for the Dockerfile's
# useradd, as in the official slim image; the host's CA bundle so pip and npm downloads verify.
STANDIN_CTR=""
remove_standin_container() {
  if [ -n "$STANDIN_CTR" ]; then "${BUILDAH[@]}" rm "$STANDIN_CTR" >/dev/null 2>&1 || true; fi
}

make_standin() {
  command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"
  local ca_sum rootfs ctr mnt
  ca_sum="$(sha256sum "$CA_BUNDLE" | cut -d' ' -f1)"
  if [ "$("${BUILDAH[@]}" inspect --type image --format '{{index .ImageAnnotations "ca-bundle-sha256"}}' \
      "$STANDIN_IMAGE" 2>/dev/null || true)" = "$ca_sum" ]; then
    log "stand-in base $STANDIN_IMAGE is cached"
    return
  fi
  mkdir -p "$CACHE_DIR"
  rootfs="$CACHE_DIR/py311-rootfs.tar"
  if [ ! -s "$rootfs" ]; then
    log "making the stand-in rootfs with mmdebstrap (~20 s)"
    mmdebstrap --quiet --variant=minbase \
      --include=python3,python3-venv,python-is-python3,ca-certificates,passwd \
      bookworm "$CACHE_DIR/py311-rootfs.part.tar" >&2
    mv "$CACHE_DIR/py311-rootfs.part.tar" "$rootfs"
  fi
  ctr="$("${BUILDAH[@]}" from scratch)"
  STANDIN_CTR="$ctr"
  trap remove_standin_container EXIT
  mnt="$("${BUILDAH[@]}" mount "$ctr")"
  tar -xf "$rootfs" -C "$mnt"
  cp "$CA_BUNDLE" "$mnt$CA_BUNDLE"
  printf '[global]\ncert = %s\n' "$CA_BUNDLE" >"$mnt/etc/pip.conf"
  "${BUILDAH[@]}" umount "$ctr" >/dev/null
  "${BUILDAH[@]}" config --env SSL_CERT_FILE="$CA_BUNDLE" --env PIP_CERT="$CA_BUNDLE" \
    --env NODE_EXTRA_CA_CERTS="$CA_BUNDLE" --env LANG=C.UTF-8 \
    --annotation "ca-bundle-sha256=$ca_sum" "$ctr"
  "${BUILDAH[@]}" commit --quiet "$ctr" "$STANDIN_IMAGE" >/dev/null
  "${BUILDAH[@]}" rm "$ctr" >/dev/null
  STANDIN_CTR=""
  trap - EXIT
  log "stand-in base $STANDIN_IMAGE committed"
}

cd "$ROOT"
T0=$(date +%s)
if [ "$standin" = 1 ]; then
  command -v buildah >/dev/null || die "buildah is missing (apt-get install buildah)"
  make_standin
  previous="$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$IMAGE" 2>/dev/null || true)"
  log "building $IMAGE with buildah from $STANDIN_IMAGE"
  "${BUILDAH[@]}" bud --isolation chroot --format docker \
    --build-arg PYTHON_IMAGE="$STANDIN_IMAGE" -t "$IMAGE" . >&2
  # vfs keeps whole copies: drop the image this build replaced (only that one, by id), or each
  # CI run on the same machine would leave ~300 MB behind.
  if [ -n "$previous" ] && [ "$previous" != "$("${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "$IMAGE")" ]; then
    "${BUILDAH[@]}" rmi "$previous" >/dev/null 2>&1 || true
  fi
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  log "building $IMAGE with docker"
  docker build -t "$IMAGE" .
elif command -v buildah >/dev/null; then
  # --format docker: the OCI format has no HEALTHCHECK, and buildah would drop it. The user's
  # own storage driver (the image lands where their podman/buildah look for it).
  log "building $IMAGE with buildah"
  buildah bud --format docker -t "$IMAGE" .
else
  die "neither a running docker nor buildah found: install one (see docs/deployment.md)"
fi
log "built $IMAGE in $(( $(date +%s) - T0 ))s"
