# SPDX-License-Identifier: GPL-2.0
#
# mini_tcp top-level Makefile.  The module itself is described by Kbuild.
#
#   make            deps + mini_tcp.ko (W=1, warnings are errors) + selftests
#   make run        build, boot the VM, load the module, show it working
#   make check      host tests + build + all VM test groups (TAP, summary)
#   make check-all  make check on 6.1, 6.12 and 7.3, one after the other
#   make interop    two VMs on a virtual wire, 6.1 server and 7.3 client
#                   (KERNELS="6.1 7.3"): a byte-exact transfer, a clean
#                   close, the same segments as between two 6.1 VMs (TAP)
#   make bench      mini_tcp vs kernel TCP in one VM run, as ratios
#   make stress     selftests/stress.sh, long: 10 rounds of 30 s for mini_tcp
#                   (module reloaded between rounds), 2 for kernel TCP
#   make lint       checkpatch --strict + sparse, both must be silent
#   make fsm-test   host-side unit test of the state table (fsm.c)
#   make fsm-diagram  build/fsm.svg from the state table
#   make clean      remove build products (keeps the downloaded kernel)
#   make distclean  remove build/ entirely
#
#   KERNEL=6.12     (make, make check, make run, ...) for Debian 13's 6.12
#                   instead of the installed 6.1: built in a trixie build
#                   root (scripts/kbuild 6.12) into build/6.12/src/, tested
#                   in a VM booting 6.12.  MTCP_KERNEL=6.12 in the
#                   environment does the same.
#   KERNEL=7.3      the same for trixie-backports' 7.3 (build/7.3/src/).

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := all

BUILD   := $(CURDIR)/build
# The target kernel: 6.1 (the installed headers), 6.12 or 7.3.  Scripts started
# from here (deps, vm-run, check) read it as MTCP_KERNEL.
KERNEL  ?= $(or $(MTCP_KERNEL),6.1)
ifeq ($(filter 6.1 6.12 7.3,$(KERNEL)),)
$(error KERNEL=$(KERNEL): supported are 6.1, 6.12 and 7.3)
endif
export MTCP_KERNEL := $(KERNEL)
# ABI of the installed linux-headers-amd64, written by scripts/deps.  Expanded
# lazily: recipes run after their "deps" prerequisite has created build/abi.
ABI      = $(shell cat $(BUILD)/abi 2>/dev/null)
KDIR    ?= /lib/modules/$(ABI)/build
CHECKPATCH := $(BUILD)/linux/scripts/checkpatch.pl
LINT_SRC = $(filter-out %.mod.c,$(wildcard $(CURDIR)/*.c $(CURDIR)/*.h $(CURDIR)/uapi/*.h))
HOSTCC  ?= cc
HOST_CFLAGS := -Wall -Wextra -Werror -O2 -g -I$(CURDIR)

.PHONY: all deps module selftests tools run check check-all interop bench bench-flood stress lint fsm-test fsm-diagram clean distclean help

all: deps module selftests tools

# Userspace tools: the flood test and the benchmarks; mtcp-ss (ss for mini_tcp).
TOOLS := $(BUILD)/synflood $(BUILD)/connbench $(BUILD)/bulkbench $(BUILD)/streambench $(BUILD)/mtcp-ss \
	 $(BUILD)/libmtcp_preload.so
tools: $(TOOLS)
$(BUILD)/%: scripts/%.c uapi/mini_tcp.h
	@mkdir -p $(BUILD)
	$(HOSTCC) -Wall -Wextra -Werror -O2 -o $@ $<
# LD_PRELOAD=build/libmtcp_preload.so runs an unmodified TCP program over mini_tcp.
$(BUILD)/libmtcp_preload.so: scripts/mtcp_preload.c uapi/mini_tcp.h
	@mkdir -p $(BUILD)
	$(HOSTCC) -Wall -Wextra -Werror -O2 -shared -fPIC -o $@ $< -ldl

# mini_tcp against kernel TCP in one VM run, as ratios (see README).
# BENCH_* variables (make bench BENCH_RUNS=7, BENCH_SMOKE=1, ...) are passed
# on to scripts/bench in the VM; results land in build/bench/ (CSV, PNG).
# The bench VM boots without slub_debug (the tests' VMs keep it): with it,
# every allocation and free records a stack trace and poisons the object,
# which costs more under TCG than the protocols themselves, and no
# production kernel does it.  BENCH_SLUB_DEBUG=1 keeps it.
BENCHENV = $(foreach v,$(filter BENCH_%,$(.VARIABLES)),'$(v)=$($(v))')
BENCHVM  = $(if $(BENCH_SLUB_DEBUG),,--no-slub-debug)
bench: all
	@bash scripts/vm-run $(BENCHVM) --timeout 1800 --out-dir $(BUILD)/bench -- /usr/bin/env $(BENCHENV) scripts/bench

bench-flood: all
	@bash scripts/vm-run $(BENCHVM) --timeout 900 -- scripts/bench-flood

# The random syscall stress of make check, long: mini_tcp for 10 rounds of
# 30 s (about 6 minutes in the VM), then kernel TCP for 2 as the oracle that
# the stress itself is sane.  STRESS_ROUNDS= and STRESS_SECS= override.
STRESS_ROUNDS ?= 10
STRESS_SECS   ?= 30
stress: all
	@bash scripts/vm-run --timeout 1500 -- /bin/bash -c \
		'rc=0; MTCP_STRESS_ROUNDS=$(STRESS_ROUNDS) MTCP_STRESS_SECS=$(STRESS_SECS) \
		selftests/run_group stress stress.sh@253 || rc=1; \
		MTCP_STRESS_ROUNDS=2 MTCP_STRESS_SECS=$(STRESS_SECS) \
		selftests/run_group stress stress.sh@6 || rc=1; exit $$rc'

deps:
	@bash scripts/deps --kernel $(KERNEL)

# Warnings (compiler, modpost) fail the build.  The objects are then removed
# so that the next build compiles (and warns) again instead of passing.
ifeq ($(KERNEL),6.1)
KBUILD    = $(MAKE) --no-print-directory -C $(KDIR) M=$(CURDIR)
MODULE_OBJ_DIR := $(CURDIR)
else
KBUILD    = bash scripts/kbuild $(KERNEL)
MODULE_OBJ_DIR := $(BUILD)/$(KERNEL)/src
endif
module: deps
	@$(KBUILD) W=1 modules 2>&1 | tee $(BUILD)/module.log
	@if grep -Eiq '(^|[^a-z])warning' $(BUILD)/module.log; then \
		rm -f $(MODULE_OBJ_DIR)/*.o; \
		echo "error: the module build printed warnings (W=1 must be clean)" >&2; exit 1; fi

selftests: deps
	@$(MAKE) -s -C selftests all

# Boot, load, show the protocol registered and a socket created.  Grows into
# the demo: if scripts/demo exists, that is what runs in the VM.
define RUN_CMD
if [ -x scripts/demo ]; then exec scripts/demo; fi
echo "== lsmod | grep mini_tcp"; grep mini_tcp /proc/modules
echo "== /proc/net/protocols"; grep -i -E "^protocol|mini" /proc/net/protocols
if [ -r /proc/net/mini_tcp_stat ]; then echo "== /proc/net/mini_tcp_stat"; cat /proc/net/mini_tcp_stat; fi
echo "== socket(AF_INET, SOCK_STREAM, $$MTCP_PROTO)"
/usr/bin/python3 -c "import os, socket; s = socket.socket(2, 1, int(os.environ[\"MTCP_PROTO\"])); print(s)"
endef
export RUN_CMD

# The demo's files ($$MTCP_OUT in the VM) come back to build/run/: the
# capture, the tracepoint log, the ladder SVG and the path each socket took,
# which the state diagram then highlights.  Fails if any act failed.
run: all
	@rm -rf $(BUILD)/run
	@rc=0; bash scripts/vm-run --timeout 600 --out-dir $(BUILD)/run -- /bin/bash -c "$$RUN_CMD" || rc=$$?; \
	if [ -f $(BUILD)/run/demo-path.txt ]; then \
		$(MAKE) -s --no-print-directory fsm-diagram FSM_HIGHLIGHT=$(BUILD)/run/demo-path.txt >/dev/null || rc=1; \
		echo; echo "== files"; \
		for f in $(BUILD)/run/ladder.svg $(BUILD)/fsm.svg $(BUILD)/run/demo.pcap; do \
			if [ -s $$f ]; then echo "  $${f#$(CURDIR)/}"; else echo "  $${f#$(CURDIR)/} MISSING"; rc=1; fi; \
		done; \
		echo "  (ladder: the demo connection, from tcpdump; fsm.svg: the state diagram, the demo's paths highlighted)"; \
	fi; \
	if [ $$rc = 0 ]; then echo "make run: every act did what it said"; else echo "make run: FAILED (exit $$rc)" >&2; fi; \
	exit $$rc

check:
	@bash scripts/check

# Every supported kernel in turn (about half an hour each under TCG); the
# exit status fails if any of them failed.
CHECK_KERNELS ?= 6.1 6.12 7.3
check-all:
	@rc=0; for k in $(CHECK_KERNELS); do \
		echo "# ==== make check KERNEL=$$k"; \
		$(MAKE) --no-print-directory check KERNEL=$$k || rc=1; \
	done; exit $$rc

# mini_tcp across kernels: VMs joined by scripts/vm-run --wire, the first of
# KERNELS the server (and, against itself, the reference capture), the second
# the client (selftests/interop.sh; logs and captures in build/interop/).
# Each kernel's module is built first.
KERNELS ?= 6.1 7.3
interop:
	@for k in $(sort $(KERNELS)); do \
		$(MAKE) -s --no-print-directory module KERNEL=$$k >/dev/null || exit 1; done
	@bash selftests/interop.sh $(KERNELS)

lint: deps
	@rc=0; \
	echo "== checkpatch --strict"; \
	$(CHECKPATCH) --strict --no-tree --quiet --show-types -f $(LINT_SRC) || rc=1; \
	echo "== sparse (make C=2)"; \
	$(MAKE) -s -C $(KDIR) M=$(CURDIR) C=2 W=1 modules >$(BUILD)/sparse.log 2>&1 || rc=1; \
	grep -Ev '^make(\[[0-9]+\])?: (Entering|Leaving)|Skipping BTF generation' $(BUILD)/sparse.log \
		| grep . && rc=1; \
	if [ $$rc = 0 ]; then echo "lint: clean"; else echo "lint: FAILED" >&2; fi; \
	exit $$rc

fsm-test: deps
	@mkdir -p $(BUILD)
	$(HOSTCC) $(HOST_CFLAGS) -o $(BUILD)/fsm_test selftests/fsm_test.c fsm.c
	@$(BUILD)/fsm_test

# FSM_HIGHLIGHT=FILE: the transitions to highlight ("FROM TO [COLOR]" lines,
# e.g. build/run/demo-path.txt written by make run).
fsm-diagram: deps
	@mkdir -p $(BUILD)
	$(HOSTCC) $(HOST_CFLAGS) -o $(BUILD)/fsm_dot scripts/fsm_dot.c fsm.c
	$(BUILD)/fsm_dot $(if $(FSM_HIGHLIGHT),-H $(FSM_HIGHLIGHT)) >$(BUILD)/fsm.dot
	dot -Tsvg $(BUILD)/fsm.dot -o $(BUILD)/fsm.svg
	@echo "wrote build/fsm.dot and build/fsm.svg"

# Not kbuild's "clean M=": it deletes every *.ko and *.o below the project,
# the unpacked kernel's modules in build/kernel included.
clean:
	rm -f *.o *.ko *.mod *.mod.c .*.cmd Module.symvers modules.order
	rm -rf $(BUILD)/6.12/src $(BUILD)/7.3/src $(BUILD)/selftests $(BUILD)/check $(BUILD)/run $(BUILD)/fsm_test $(BUILD)/fsm_dot \
		$(BUILD)/fsm.dot $(BUILD)/fsm.svg $(BUILD)/*.log $(BUILD)/initramfs.cpio*

distclean: clean
	rm -rf $(BUILD)

help:
	@sed -n '3,26p' Makefile
