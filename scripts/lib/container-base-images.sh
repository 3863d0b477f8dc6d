#!/usr/bin/env bash
# Makes the two base images the Dockerfile builds FROM, locally, with no registry:
#   localhost/reactor-base/debian:bookworm-slim  debootstrap --variant=minbase bookworm from the
#                                                Debian mirror apt is configured with, imported
#                                                with `podman import`;
#   localhost/reactor-base/rust:VERSION-slim-bookworm  that image plus gcc and libc6-dev and the
#                                                host's own Rust toolchain (cargo, rustc and its
#                                                libraries; VERSION is the host's rustc), laid out
#                                                like the public rust image (CARGO_HOME
#                                                /usr/local/cargo), trusting the host's local CA
#                                                certificates too (a TLS-inspecting proxy
#                                                between the build and crates.io).
# Images that exist already are kept: the podman image store is the cache between runs on the
# same machine (`podman rmi` them to start over). Prints the two image names, one a line:
#   DEBIAN_IMAGE=...
#   RUST_IMAGE=...
# Usage: scripts/lib/container-base-images.sh   (root; podman and debootstrap installed)
set -euo pipefail

say() { echo "container-base-images: $*" >&2; }

rustc_version=$(rustc --version | awk '{ print $2 }')
sysroot=$(rustc --print sysroot)
debian_image=localhost/reactor-base/debian:bookworm-slim
rust_image=localhost/reactor-base/rust:$rustc_version-slim-bookworm

# The mirror apt uses (deb822 sources first, then the one-line format), else deb.debian.org.
mirror=$(
  {
    grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true
  } | awk '{ print $2 }' | { grep -v -- -security || true; } | head -n 1
)
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if podman image exists "$debian_image"; then
  say "$debian_image: cached"
else
  say "$debian_image: debootstrap --variant=minbase bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    exit 1
  }
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  tar -C "$work/rootfs" -c . | podman import \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$debian_image" >/dev/null
  rm -rf "$work/rootfs"
fi

if podman image exists "$rust_image"; then
  say "$rust_image: cached"
else
  say "$rust_image: $debian_image + gcc, libc6-dev + the host's Rust $rustc_version ($sysroot)"
  mkdir -p "$work/ctx/rust/bin"
  cp "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$work/ctx/rust/bin/"
  # Hard links where possible: the libraries are some 500 MB.
  cp -al "$sysroot/lib" "$work/ctx/rust/lib" 2>/dev/null || cp -a "$sysroot/lib" "$work/ctx/rust/lib"
  mkdir -p "$work/ctx/local-ca"
  cp /usr/local/share/ca-certificates/*.crt "$work/ctx/local-ca/" 2>/dev/null || true
  cat >"$work/ctx/Containerfile" <<EOF
FROM $debian_image
RUN apt-get update \\
    && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \\
    && rm -rf /var/lib/apt/lists/*
COPY local-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY rust /usr/local/rust
ENV CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN cargo --version && rustc --version
EOF
  podman build -q -t "$rust_image" "$work/ctx" >/dev/null
fi

echo "DEBIAN_IMAGE=$debian_image"
echo "RUST_IMAGE=$rust_image"
