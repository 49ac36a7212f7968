#!/usr/bin/env bash
# Fetches the parts of an arm64 test guest from Debian (an arm64 cloud kernel and busybox-static:arm64) into DIR.
# Used by test/vm/arm64-guest.test.ts (root only). Usage: scripts/fetch-arm64-guest.sh DIR
# Writes DIR/vmlinuz and DIR/busybox; prints nothing and exits 0 when they are already there.
# Exit 2 with one line naming what could not be had (not root, no arm64 packages in the archive).
set -euo pipefail
dir=${1:?usage: scripts/fetch-arm64-guest.sh DIR}
[ -s "$dir/vmlinuz" ] && [ -s "$dir/busybox" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: cannot add the arm64 architecture to dpkg to fetch linux-image-cloud-arm64 and busybox-static:arm64" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# apt-get download only reads arm64 packages once dpkg knows the architecture and the lists hold it.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
if ! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || true
fi
# The meta package only depends on the versioned kernel package, which holds the kernel.
kernel=$(apt-cache depends linux-image-cloud-arm64:arm64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-arm64\)\(:arm64\)\{0,1\}$/\1/p' | head -n 1)
if [ -z "$kernel" ] || ! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then
  echo "the apt archive offers no linux-image-cloud-arm64:arm64 or busybox-static:arm64" >&2
  exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/benito-arm64-fetch.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
# apt-get download writes into the working directory; _apt cannot enter a root-owned mktemp folder.
chmod 755 "$work"
(cd "$work" && apt-get -o DPkg::Lock::Timeout=600 download -qq "$kernel:arm64" busybox-static:arm64 2>/dev/null) || {
  echo "could not download $kernel:arm64 and busybox-static:arm64 from the apt archive" >&2
  exit 2
}
# Only the two files are unpacked: the kernel package's modules are most of its size.
mkdir "$work/root"
for deb in "$work"/*.deb; do
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/root" --wildcards './boot/vmlinuz-*' './bin/busybox' 2>/dev/null || true
done
mkdir -p "$dir"
set -- "$work"/root/boot/vmlinuz-*-cloud-arm64
[ -s "$1" ] || { echo "$kernel:arm64 holds no /boot/vmlinuz-*-cloud-arm64" >&2; exit 2; }
cp "$1" "$dir/vmlinuz.tmp" && mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
cp "$work/root/bin/busybox" "$dir/busybox.tmp" && mv "$dir/busybox.tmp" "$dir/busybox"
