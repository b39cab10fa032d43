# SPDX-License-Identifier: GPL-2.0
# TAP helpers for shell tests: source it, set TMP to a scratch directory,
# call `check "description" command...` per test, `exit $failed` at the end.

n=0
failed=0

check() {	# check "description" command...: ok if the command succeeds
	local desc=$1
	shift
	n=$((n + 1))
	if "$@" >"$TMP/out" 2>&1; then
		echo "ok $n $desc"
	else
		failed=1
		echo "not ok $n $desc"
		sed 's/^/# /' "$TMP/out"
	fi
}
