#!/bin/sh
# benito's floors, checked by every init integration before `benito boot`: benito cannot report
# these itself (without /proc, or on a CPU without SSE4.2/POPCNT, it dies before any of its code
# runs; a stripped copy is plain Bun and runs none of it). Prints one line naming the problem and
# exits 1; silent and exit 0 when all is well. Installed by `benito install` as
# /usr/local/lib/benito/preflight. Usage: preflight [BENITO]. Plain POSIX sh and tools busybox has
# too (no character classes: busybox tr reads "[:print:]" as a set of letters).
BENITO=${1:-/usr/local/sbin/benito}
if [ ! -x "$BENITO" ]; then
    echo "benito: $BENITO is missing or not executable"
    exit 1
fi
if [ ! -r /proc/self/stat ]; then
    echo "benito: /proc is not mounted; benito needs it (mount -t proc proc /proc)"
    exit 1
fi
case "$(uname -m)" in
x86_64 | amd64)
    for flag in sse4_2 popcnt; do
        if ! grep -qw "$flag" /proc/cpuinfo; then
            echo "benito: this CPU lacks $flag; benito's x86-64 build needs SSE4.2 and POPCNT (Nehalem or newer; under QEMU use -cpu Nehalem, host or max, not qemu64 or kvm64)"
            exit 1
        fi
    done
    ;;
esac
version=$("$BENITO" --version 2>/dev/null | head -n 1 | tr -d '\000-\037\177' | cut -c 1-60)
case "$version" in
benito*) ;;
*)
    echo "benito: $BENITO --version printed \"$version\", not \"benito ...\": a stripped copy? strip removes benito's code; install it unstripped (benito install)"
    exit 1
    ;;
esac
exit 0
