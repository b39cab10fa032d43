#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module autoload (TAP), in a VM booted without the module: socket(AF_INET,
# SOCK_STREAM, 253) makes the kernel ask modprobe for
# "net-pf-2-proto-253-type-1", which the module's MODULE_ALIAS answers.
#
# The guest's module tree is the read-only kernel image, so this builds a
# private one (tmpfs) holding mini_tcp.ko, runs depmod on it, and points the
# kernel's modprobe helper (/proc/sys/kernel/modprobe) at a wrapper that
# uses it.  Everything is put back at exit.
set -u

PY=/usr/bin/python3
# vm-run --no-module: the module built for the kernel booted (MTCP_KERNEL)
KO=$(cd "$(dirname "$0")/.." && pwd)/mini_tcp.ko
[ "${MTCP_KERNEL:-6.1}" = 6.1 ] || KO=${KO%/*}/build/$MTCP_KERNEL/src/mini_tcp.ko
KO=${MTCP_KO:-$KO}
KVER=$(uname -r)
TMP=$(mktemp -d)
OLD_HELPER=$(cat /proc/sys/kernel/modprobe)

cleanup() {
	echo "$OLD_HELPER" >/proc/sys/kernel/modprobe
	grep -q "^mini_tcp " /proc/modules && rmmod mini_tcp
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ ! -f "$KO" ] || ! command -v depmod >/dev/null; then
	echo "1..1"
	echo "not ok 1 mini_tcp.ko and depmod are there (make)"
	exit 1
fi
if grep -q "^mini_tcp " /proc/modules; then
	echo "1..0 # SKIP needs a VM booted without the module (vm-run --no-module)"
	exit 4
fi

# shellcheck source=lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"

alias_present() {
	modinfo -F alias "$KO" | grep -qx "net-pf-2-proto-253-type-1" ||
		{ modinfo -F alias "$KO"; return 1; }
}

module_tree() {
	mkdir -p "$TMP/mods/lib/modules/$KVER/extra" &&
	cp "$KO" "$TMP/mods/lib/modules/$KVER/extra/" &&
	depmod -b "$TMP/mods" "$KVER" &&
	grep -q "net-pf-2-proto-253-type-1 mini_tcp" "$TMP/mods/lib/modules/$KVER/modules.alias" &&
	cat >"$TMP/modprobe" <<EOF &&
#!/bin/sh
exec /sbin/modprobe -d $TMP/mods "\$@"
EOF
	chmod +x "$TMP/modprobe" &&
	echo "$TMP/modprobe" >/proc/sys/kernel/modprobe
}

socket_loads_module() {
	$PY -c "import socket; print(socket.socket(socket.AF_INET, socket.SOCK_STREAM, 253))" &&
	grep "^mini_tcp " /proc/modules
}

echo "1..3"
check "the module declares alias net-pf-2-proto-253-type-1" alias_present
check "a module tree with mini_tcp.ko, depmod'ed" module_tree
check "socket(AF_INET, SOCK_STREAM, 253) autoloads mini_tcp" socket_loads_module
exit $failed
