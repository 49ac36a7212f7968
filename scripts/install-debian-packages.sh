#!/usr/bin/env bash
# Installs the Debian packages benito's tests and demo use, when missing (root only; otherwise says what to install).
# Used by `make test`, `make demo` and .ci/run. Usage: scripts/install-debian-packages.sh [PACKAGE...]
set -euo pipefail
# iproute2 (test namespaces), iputils-ping, vde2 (real vde_switch/wirefilter/vde_plug2tap), qemu and
# the guest's parts (real VMs under TCG: cloud kernel, busybox-static, cpio), iperf3 (bench-vde),
# graphviz (`topdl graph` output checked by dot), tcpdump (reads `benito capture`'s pcap files),
# systemd-container (benito.service under real systemd in systemd-nspawn), lintian (the .deb),
# qemu-user-static and libc6-arm64-cross (the arm64 build run by the CLI tests), python3 (routes.py),
# qemu-system-arm (an arm64 guest on the argv an arm64 pnode plans; its kernel and busybox come from
# scripts/fetch-arm64-guest.sh, which the test runs: arm64 packages are downloaded, never installed).
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(iproute2 iputils-ping vde2 qemu-system-x86 qemu-utils iperf3 busybox-static linux-image-cloud-amd64 cpio graphviz tcpdump systemd-container lintian qemu-user-static libc6-arm64-cross python3 qemu-system-arm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: not root, so not installing ${missing[*]}: tests that need them (and root) will say they were skipped" >&2
  exit 0
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
