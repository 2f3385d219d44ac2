# NaviosWS — the only entry points. Every target installs what it needs on a fresh Debian
# machine first (apt packages, a Python venv in .venv); once installed, that step is a check.
#
#   make run          build in release mode and start the chat example (page + gateways)
#   make run-cluster  the chat example as two instances behind one redis-server
#   make test         every test: C unit tests, Swift tests, interop suites on both backends,
#                     the gateway end to end, the load harness's self-tests, Autobahn
#   make bench        the side-by-side benchmark suite (make bench-quick: a short one)
#   make test-asan    the C core's tests and the interop suites under ASan + UBSan
#   make fuzz         libFuzzer on every C parser, FUZZ_SECONDS each (make test: 20 s each)
#   make bench-codec  codec microbenchmarks (masking, UTF-8, frame decoding)
#   make autobahn     the Autobahn|Testsuite fuzzingclient against navios-ws-echo: 1-10 on both
#                     backends, 12-13 (permessage-deflate) on io_uring (make autobahn-full: all
#                     517 cases on both backends, 12-13 in both deflate modes)
#   make clean

SHELL := /bin/bash
.DEFAULT_GOAL := test

# chromium + chromium-driver: the browser test of the chat example's page (libnss3-tools: its
# certutil gives that browser the TLS tests' CA). nodejs + node-ws:
# the load harness's self-tests also run against node's ws, a server we did not write.
APT_PACKAGES := pkg-config liburing-dev libssl-dev zlib1g-dev python3-venv chromium chromium-driver nodejs node-ws libhiredis-dev redis-server openssl libnss3-tools
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
TLS_DIR := $(BUILD)/tls
# The official Socket.IO client (see its rule below).
SOCKETIO_CLIENT := $(BUILD)/socket.io.min.js
SOCKETIO_CLIENT_SHA256 := b0e735814f8dcfecd6cdb8a7ce95a297a7e1e5f2727a29e6f5901801d52fa0c5
PORT ?= 3000

CORE_DIR := CSources/CNaviosWS
CORE_SRCS := $(wildcard $(CORE_DIR)/*.c)
CORE_HDRS := $(wildcard $(CORE_DIR)/*.h $(CORE_DIR)/include/*.h)
# NaviosJSON's C helper: the JSON member scanner, apart from the transport core.
JSON_DIR := CSources/CNaviosJSON
JSON_SRCS := $(wildcard $(JSON_DIR)/*.c)
JSON_HDRS := $(wildcard $(JSON_DIR)/include/*.h)
C_TESTS := test_frame test_mask_utf8 test_http test_eio test_timer test_json test_rooms test_post test_liveness test_deflate
CFLAGS_COMMON := -std=c11 -g -Wall -Wextra -I$(CORE_DIR)/include -I$(CORE_DIR) -I$(JSON_DIR)/include
LIBS := -luring -lssl -lcrypto -lz -lpthread
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: fuzz fuzz-build fuzz-swift-build test-fuzz deps venv build run run-cluster test-docs test-protocol-suites test-socketio test-cluster bench-cluster test test-c test-swift test-interop test-gateway test-autobahn test-asan bench-codec bench-harness test-bench-harness bench bench-quick bench-socketio bench-floor bench-fanout-contention bench-tls-deflate autobahn autobahn-full soak test-soak clean

# ---- installing ----------------------------------------------------------------------
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(VENV)/.installed: Tests/Interop/requirements.txt Tests/Gateway/requirements.txt Tests/SocketIO/requirements.txt | deps
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r Tests/Interop/requirements.txt -r Tests/Gateway/requirements.txt \
		-r Tests/SocketIO/requirements.txt
	touch $@

venv: $(VENV)/.installed

# ---- building ------------------------------------------------------------------------
build: deps
	swift build -c release --product navios-ws-echo
	swift build -c release --product chat-example
	swift build -c release --product navios-ws-gateway-echo
	swift build -c release --product navios-ws-cluster-node
	swift build -c release --product navios-ws-socketio-server

# The chat example prints its URL: open it in two browser windows. `make run TLS=1` serves it
# over https:// and wss:// with a certificate for localhost signed by a local CA made here once
# (build/tls/ca.pem): import that CA into the browser's trusted authorities (Chromium: Settings,
# Privacy and security, Security, Manage certificates, Authorities), or use `curl --cacert`.
run: build $(SOCKETIO_CLIENT) $(if $(TLS),$(TLS_DIR)/localhost.pem)
	@if [ -n "$(TLS)" ]; then echo "TLS: trust $(TLS_DIR)/ca.pem (a CA made for this machine) to open the https:// URL"; fi
	.build/release/chat-example --port $(PORT) --socketio-client $(SOCKETIO_CLIENT) \
		$(if $(TLS),--tls-cert $(TLS_DIR)/localhost.pem --tls-key $(TLS_DIR)/localhost.key)

$(TLS_DIR)/localhost.pem: | deps
	@mkdir -p $(TLS_DIR)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
		-keyout $(TLS_DIR)/ca.key -out $(TLS_DIR)/ca.pem -subj "/CN=NaviosWS local CA"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout $(TLS_DIR)/localhost.key -out $(TLS_DIR)/localhost.csr -subj "/CN=localhost"
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > $(TLS_DIR)/localhost.ext
	openssl x509 -req -in $(TLS_DIR)/localhost.csr -CA $(TLS_DIR)/ca.pem -CAkey $(TLS_DIR)/ca.key -CAcreateserial \
		-days 825 -extfile $(TLS_DIR)/localhost.ext -out $(TLS_DIR)/localhost.pem

# The official Socket.IO client for the chat page and its browser test (v4.8.1, MIT), taken from
# the PyPI package that ships it and checked by its hash; not kept in the repository.
$(SOCKETIO_CLIENT): | venv
	@mkdir -p $(BUILD)/wheels
	$(VENV)/bin/pip download -q --disable-pip-version-check --no-deps nicegui==3.18.0 -d $(BUILD)/wheels
	$(VENV)/bin/python -c "import glob, sys, zipfile; \
		wheel = glob.glob('$(BUILD)/wheels/nicegui-3.18.0-*.whl')[0]; \
		open(sys.argv[1], 'wb').write(zipfile.ZipFile(wheel).read('nicegui/static/socket.io.min.js'))" $@.tmp
	echo "$(SOCKETIO_CLIENT_SHA256)  $@.tmp" | sha256sum --check --quiet
	mv $@.tmp $@

# The core as a static library, once per flavour (plain -O2, and sanitized).
CORE_OBJS := $(patsubst $(CORE_DIR)/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
ASAN_OBJS := $(patsubst $(CORE_DIR)/%.c,$(BUILD)/asan/obj/%.o,$(CORE_SRCS))

$(BUILD)/obj/%.o: $(CORE_DIR)/%.c $(CORE_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O2 -c $< -o $@

$(BUILD)/asan/obj/%.o: $(CORE_DIR)/%.c $(CORE_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O1 $(SANITIZE) -c $< -o $@

$(BUILD)/libnws.a: $(CORE_OBJS)
	ar rcs $@ $^

$(BUILD)/asan/libnws.a: $(ASAN_OBJS)
	ar rcs $@ $^

JSON_OBJS := $(patsubst $(JSON_DIR)/%.c,$(BUILD)/obj/json/%.o,$(JSON_SRCS))
JSON_ASAN_OBJS := $(patsubst $(JSON_DIR)/%.c,$(BUILD)/asan/obj/json/%.o,$(JSON_SRCS))

$(BUILD)/obj/json/%.o: $(JSON_DIR)/%.c $(JSON_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O2 -c $< -o $@

$(BUILD)/asan/obj/json/%.o: $(JSON_DIR)/%.c $(JSON_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O1 $(SANITIZE) -c $< -o $@

$(BUILD)/libnwsjson.a: $(JSON_OBJS)
	ar rcs $@ $^

$(BUILD)/asan/libnwsjson.a: $(JSON_ASAN_OBJS)
	ar rcs $@ $^

$(BUILD)/%: Tests/CTests/%.c Tests/CTests/nws_test.h Tests/CTests/utf8_reference.h Tests/CTests/null_loop.h $(BUILD)/libnws.a $(BUILD)/libnwsjson.a
	$(CC) $(CFLAGS_COMMON) -O2 $< $(BUILD)/libnws.a $(BUILD)/libnwsjson.a -o $@ $(LIBS)

$(BUILD)/asan/%: Tests/CTests/%.c Tests/CTests/nws_test.h Tests/CTests/utf8_reference.h Tests/CTests/null_loop.h $(BUILD)/asan/libnws.a $(BUILD)/asan/libnwsjson.a
	$(CC) $(CFLAGS_COMMON) -O1 $(SANITIZE) $< $(BUILD)/asan/libnws.a $(BUILD)/asan/libnwsjson.a -o $@ $(LIBS)

# ---- testing -------------------------------------------------------------------------
test: test-docs test-c test-fuzz test-redis-link test-swift test-interop test-socketio test-protocol-suites test-gateway test-cluster test-bench-harness test-autobahn test-soak

test-c: $(addprefix $(BUILD)/,$(C_TESTS))
	@for t in $(C_TESTS); do $(BUILD)/$$t || exit 1; done

# ---- fuzzing: a libFuzzer target per parser (Tests/Fuzz), with ASan and UBSan ----------------
# `make fuzz` runs each for FUZZ_SECONDS (60) from its seed corpus; `make test` for 20 seconds.
# The compiler is the Swift toolchain's clang, which ships libFuzzer.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := http frame utf8 mask json eio deflate
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fuse-ld=lld \
	-I$(CORE_DIR)/include -I$(CORE_DIR) -I$(JSON_DIR)/include -ITests/CTests -ITests/Fuzz
FUZZ_SRCS_http := $(CORE_DIR)/http.c $(CORE_DIR)/handshake.c $(CORE_DIR)/error.c
FUZZ_SRCS_frame := $(CORE_DIR)/frame.c $(CORE_DIR)/mask.c $(CORE_DIR)/utf8.c $(CORE_DIR)/utf8_avx2.c $(CORE_DIR)/error.c
FUZZ_SRCS_utf8 := $(CORE_DIR)/utf8.c $(CORE_DIR)/utf8_avx2.c
FUZZ_SRCS_mask := $(CORE_DIR)/mask.c
FUZZ_SRCS_json := $(JSON_DIR)/json.c
FUZZ_SRCS_eio := $(CORE_DIR)/eio_packet.c $(CORE_DIR)/error.c
FUZZ_SRCS_deflate := $(CORE_DIR)/deflate.c $(CORE_DIR)/deflate_offer.c $(CORE_DIR)/http.c $(CORE_DIR)/sendq.c $(CORE_DIR)/conn_cold.c \
	$(CORE_DIR)/frame.c $(CORE_DIR)/mask.c $(CORE_DIR)/utf8.c $(CORE_DIR)/utf8_avx2.c $(CORE_DIR)/error.c
FUZZ_LIBS_http := -lcrypto
FUZZ_LIBS_deflate := -lz
FUZZ_LIBS_eio := -lcrypto

$(BUILD)/fuzz/fuzz_%: Tests/Fuzz/fuzz_%.c Tests/Fuzz/fuzz_common.h Tests/CTests/utf8_reference.h $(CORE_SRCS) $(CORE_HDRS) $(JSON_SRCS) $(JSON_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $< $(FUZZ_SRCS_$*) -o $@ $(FUZZ_LIBS_$*)

fuzz-build: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))

# The Swift parsers' targets (Tests/Fuzz/Swift): the JSON payload path, the Socket.IO packet
# parser and the cluster wire decoder, in one binary (NAVIOS_FUZZ_TARGET picks the parser when it
# runs). Built into a path of its own: every module compiled with ASan and libFuzzer's coverage
# (the frontend's -sanitize=fuzzer, so that no other executable links libFuzzer's main); the
# binary links libFuzzer and runs its driver from its own main (Package.swift declares it only
# under NAVIOS_FUZZ=1).
SWIFT_FUZZ_TARGETS := swift-json swift-socketio swift-cluster
fuzz-swift-build: deps
	NAVIOS_FUZZ=1 swift build --build-path .build/fuzz -Xswiftc -sanitize=address \
		-Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld \
		-Xlinker $$(find $$(dirname $$(dirname $$(command -v swiftc)))/lib/clang \
			-name 'libclang_rt.fuzzer_no_main-x86_64.a' | head -1) -Xlinker -lstdc++ --product navios-ws-fuzz

fuzz: fuzz-build fuzz-swift-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) Tests/Fuzz/run-fuzzers.sh $(FUZZ_TARGETS) $(SWIFT_FUZZ_TARGETS)

test-fuzz: fuzz-build fuzz-swift-build
	FUZZ_SECONDS=20 Tests/Fuzz/run-fuzzers.sh $(FUZZ_TARGETS) $(SWIFT_FUZZ_TARGETS)

test-swift: deps
	swift test

test-interop: build venv
	NAVIOS_WS_ECHO=.build/release/navios-ws-echo $(PY) -m pytest Tests/Interop -q -p no:cacheprovider

# The official Engine.IO and Socket.IO protocol suites, against the core's Engine.IO echo server
# and the Socket.IO test server, when copies of the suites are present (EIO_PROTOCOL_REPO and
# SIO_PROTOCOL_REPO, or .suites/); each skipped with the reason otherwise.
test-protocol-suites: build $(BUILD)/echo_server | deps
	Tests/SocketIO/run-official-suites.sh

# Stock Socket.IO clients (python-socketio) against the Socket.IO test server.
test-socketio: build venv
	NAVIOS_SOCKETIO_SERVER=.build/release/navios-ws-socketio-server $(PY) -m pytest Tests/SocketIO -q -p no:cacheprovider

# The README's layout table against the tree.
test-docs: venv
	$(PY) -m pytest Tests/Docs -q -p no:cacheprovider

# The gateway layer end to end: Python websockets clients and headless Chromium against
# the chat example.
test-gateway: build venv $(SOCKETIO_CLIENT)
	NAVIOS_CHAT_EXAMPLE=.build/release/chat-example NAVIOS_SOCKETIO_CLIENT=$(SOCKETIO_CLIENT) \
		$(PY) -m pytest Tests/Gateway -q -p no:cacheprovider

test-asan: $(addprefix $(BUILD)/asan/,$(C_TESTS) echo_server) test-redis-link-asan venv
	@for t in $(C_TESTS); do $(BUILD)/asan/$$t || exit 1; done
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		NAVIOS_WS_ECHO=$(BUILD)/asan/echo_server $(PY) -m pytest Tests/Interop -q

# ---- Redis link (C) ----
# The pub/sub scale-out link (CSources/CNaviosRedis): hiredis for RESP only, OpenSSL for TLS,
# its own thread and sockets. Its test starts and kills its own redis-server processes on
# free loopback ports; make test-redis-link-asan runs it under ASan + UBSan.
REDIS_DIR := CSources/CNaviosRedis
REDIS_SRCS := $(wildcard $(REDIS_DIR)/*.c)
REDIS_HDRS := $(wildcard $(REDIS_DIR)/*.h $(REDIS_DIR)/include/*.h)
REDIS_CFLAGS := -std=c11 -g -Wall -Wextra -I$(REDIS_DIR)/include -I$(REDIS_DIR)
REDIS_LIBS := -lhiredis -lssl -lcrypto -lpthread
REDIS_OBJS := $(patsubst $(REDIS_DIR)/%.c,$(BUILD)/obj/redis/%.o,$(REDIS_SRCS))
REDIS_ASAN_OBJS := $(patsubst $(REDIS_DIR)/%.c,$(BUILD)/asan/obj/redis/%.o,$(REDIS_SRCS))

$(BUILD)/obj/redis/%.o: $(REDIS_DIR)/%.c $(REDIS_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(REDIS_CFLAGS) -O2 -c $< -o $@

$(BUILD)/asan/obj/redis/%.o: $(REDIS_DIR)/%.c $(REDIS_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(REDIS_CFLAGS) -O1 $(SANITIZE) -c $< -o $@

$(BUILD)/test_redis_link: Tests/CTests/test_redis_link.c Tests/CTests/nws_test.h $(REDIS_OBJS)
	$(CC) $(REDIS_CFLAGS) -O2 $< $(REDIS_OBJS) -o $@ $(REDIS_LIBS)

$(BUILD)/asan/test_redis_link: Tests/CTests/test_redis_link.c Tests/CTests/nws_test.h $(REDIS_ASAN_OBJS)
	$(CC) $(REDIS_CFLAGS) -O1 $(SANITIZE) $< $(REDIS_ASAN_OBJS) -o $@ $(REDIS_LIBS)

.PHONY: test-redis-link test-redis-link-asan
test-redis-link: $(BUILD)/test_redis_link
	$(BUILD)/test_redis_link

test-redis-link-asan: $(BUILD)/asan/test_redis_link
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(BUILD)/asan/test_redis_link
# ---- end of Redis link (C) ----

# Scale-out end to end: a real redis-server (started and stopped by the tests) and two or
# three navios-ws-cluster-node processes, Python websockets clients on each.
test-cluster: build venv
	NAVIOS_CLUSTER_NODE=.build/release/navios-ws-cluster-node $(PY) -m pytest Tests/Cluster -q -p no:cacheprovider

# The soak (Benchmarks/soak.py): one cluster node behind redis-server, 19,000 connections with
# heartbeat, 1,000 connects and closes a second, 100 room broadcasts a second, Redis killed and
# restarted midway, 10 minutes; RSS every 10 s must stay within 5% after warm-up, and no
# delivery may be missing. Writes Benchmarks/results/soak-{latest.json,latest.md,rss.svg}.
soak: build venv $(BUILD)/heap_watch.so
	NAVIOS_CLUSTER_NODE=.build/release/navios-ws-cluster-node $(PY) Benchmarks/soak.py --check-rss \
		--heap-watch $(BUILD)/heap_watch.so

# Its short form for make test: 2,000 connections, 200 churned a second, 30 s.
test-soak: build venv $(BUILD)/heap_watch.so
	NAVIOS_CLUSTER_NODE=.build/release/navios-ws-cluster-node $(PY) Benchmarks/soak.py --connections 2000 \
		--churn 200 --duration 30 --warmup 10 --heartbeat-ms 5000 --heap-watch $(BUILD)/heap_watch.so \
		--out $(BUILD)/soak-short

# What the server's heap holds during a soak (preloaded, Benchmarks/tools/heap_watch.c).
$(BUILD)/heap_watch.so: Benchmarks/tools/heap_watch.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O2 -shared -fPIC $< -o $@ -lpthread

# Two chat-example instances (ports PORT and PORT+1) sharing rooms through a redis-server on
# REDIS_PORT: a message sent on one page is seen on the other. Ctrl-C stops all three.
REDIS_PORT ?= 6390
run-cluster: build
	@set -m; trap 'kill $$pids 2>/dev/null; wait' INT TERM EXIT; \
	redis-server --port $(REDIS_PORT) --bind 127.0.0.1 --save '' --appendonly no --loglevel warning & pids="$$!"; \
	.build/release/chat-example --port $(PORT) --redis 127.0.0.1:$(REDIS_PORT) & pids="$$pids $$!"; \
	.build/release/chat-example --port $$(( $(PORT) + 1 )) --redis 127.0.0.1:$(REDIS_PORT) & pids="$$pids $$!"; \
	wait

# ---- measuring -------------------------------------------------------------------------
# Fan-out on one instance and across two behind a redis-server, and what a broadcast costs the
# publishing instance (Benchmarks/run-cluster-fanout.sh).
bench-cluster: build $(BUILD)/navios-ws-bench
	bash Benchmarks/run-cluster-fanout.sh

$(BUILD)/bench_codec: Benchmarks/codec/bench_codec.c $(BUILD)/libnws.a
	$(CC) $(CFLAGS_COMMON) -O2 $< $(BUILD)/libnws.a -o $@ $(LIBS)

bench-codec: $(BUILD)/bench_codec
	$(BUILD)/bench_codec

# The kernel's floor under a fan-out: a bare send() to each of 10,000 loopback connections
# (Benchmarks/tools/fanout_floor.c), to read the fan-out latencies against.
$(BUILD)/fanout_floor: Benchmarks/tools/fanout_floor.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O2 $< -o $@

bench-floor: $(BUILD)/fanout_floor
	$(BUILD)/fanout_floor 10000

# Room fan-out on an idle core and on a core shared with a CPU burner at a fixed duty cycle,
# beside a uWebSockets fan-out server given by UWS_FANOUT (built outside this repository).
$(BUILD)/cpu_burner: Benchmarks/tools/cpu_burner.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O2 $< -o $@

bench-fanout-contention: build $(BUILD)/navios-ws-bench $(BUILD)/cpu_burner
	bash Benchmarks/run-fanout-contention.sh

# navios-ws-bench: the io_uring load harness (echo, latency, fanout, connect, idle) for any
# RFC 6455 server; its self-tests check the histogram on known data and the counts against
# navios-ws-echo, navios-ws-gateway-echo and misbehaving Python servers.
HARNESS_DIR := Benchmarks/harness
HARNESS_SRCS := $(wildcard $(HARNESS_DIR)/*.c)
HARNESS_HDRS := $(wildcard $(HARNESS_DIR)/*.h)
$(BUILD)/navios-ws-bench: $(HARNESS_SRCS) $(HARNESS_HDRS) $(BUILD)/libnws.a
	$(CC) $(CFLAGS_COMMON) -O2 -I$(HARNESS_DIR) $(HARNESS_SRCS) $(BUILD)/libnws.a -o $@ $(LIBS)

$(BUILD)/test_bench_histogram: Tests/Bench/test_bench_histogram.c $(HARNESS_DIR)/histogram.c $(HARNESS_DIR)/histogram.h Tests/CTests/nws_test.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -O2 -I$(HARNESS_DIR) -ITests/CTests $< $(HARNESS_DIR)/histogram.c -o $@

bench-harness: $(BUILD)/navios-ws-bench

# The load harness's own tests: exact counts against navios-ws-echo, the gateway echo and node
# ws, misbehaving servers reported as errors, histogram percentiles on known data.
test-bench-harness: build $(BUILD)/navios-ws-bench $(BUILD)/test_bench_histogram venv
	$(BUILD)/test_bench_histogram
	NAVIOS_WS_BENCH=$(BUILD)/navios-ws-bench $(PY) -m pytest Tests/Bench -q -p no:cacheprovider

# The side-by-side suite (Benchmarks/run-suite.sh): every navios-ws-bench scenario against
# navios-ws-echo (both backends), the gateway, Hummingbird, Vapor, node ws and Python
# websockets (uWebSockets too with UWS_ECHO=/path/to/EchoServer), server and harness pinned to
# one CPU each; writes Benchmarks/results/suite-*.json|svg, latest.svg and latest.md.
# bench-quick: fewer servers, points and seconds. NO_SWIFT_BUILD=1: no swift build at all,
# the binaries as they are (a peer that is missing is skipped with the reason).
VAPOR_PEER := Benchmarks/peers/vapor/vapor-echo
HB_PEER := Benchmarks/peers/hummingbird/hummingbird-echo
# node and its ws module come with the other packages (deps).
bench bench-quick: bench-harness venv
ifndef NO_SWIFT_BUILD
	$(MAKE) build
	swift build -c release --package-path $(HB_PEER) || echo "the Hummingbird peer did not build: the suite skips it"
	swift build -c release --package-path $(VAPOR_PEER) || echo "the Vapor peer did not build: the suite skips it"
endif
	SUITE_COMMAND="make $@$(if $(NO_SWIFT_BUILD), NO_SWIFT_BUILD=1)" bash Benchmarks/run-suite.sh $(if $(filter bench-quick,$@),--quick)
	bash Benchmarks/run-socketio.sh $(if $(filter bench-quick,$@),--quick)

# Socket.IO side by side (Benchmarks/run-socketio.sh): echo with ack over our JSON gateway, the
# same gateway over Socket.IO, the conformance contract server and python-socketio's; fan-out,
# idle memory and the cost of a recovery. Writes Benchmarks/results/socketio-latest.md.
bench-socketio: bench-harness venv
ifndef NO_SWIFT_BUILD
	$(MAKE) build
endif
	bash Benchmarks/run-socketio.sh

# TLS and permessage-deflate side by side (UWS_EXT_ECHO: a uWebSockets echo built outside this
# repository, run as `echo PORT none|shared|dedicated [CERT KEY]`). Writes
# Benchmarks/results/tls-deflate-latest.md.
bench-tls-deflate: bench-harness
ifndef NO_SWIFT_BUILD
	$(MAKE) build
endif
	bash Benchmarks/run-tls-deflate.sh

AUTOBAHN_PREFIX ?= /opt/autobahn-py27
$(AUTOBAHN_PREFIX)/bin/wstest: | deps
	bash ../shared/tools/autobahn/setup.sh $(AUTOBAHN_PREFIX)

test-autobahn autobahn: build $(AUTOBAHN_PREFIX)/bin/wstest
	bash Tests/Autobahn/run-both-backends.sh

# All 517 cases on both backends, and 12-13 in both deflate modes (about an hour on 2 cores).
autobahn-full: build $(AUTOBAHN_PREFIX)/bin/wstest
	bash Tests/Autobahn/run-both-backends.sh --full

clean:
	rm -rf $(BUILD) .build
