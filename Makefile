# The two commands of the README: `make demo` (the seed's scenario) and `make test` (everything).
# Both install dependencies and build as needed.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps build spring-apps demo test unit e2e sanitize e2e-sanitized fuzz fuzz-smoke bench clean format format-check

all: build

deps:
	./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

# The C++ binary and tests. The Spring Cloud jars are built by `spring-apps` (which `test` and the
# Spring variants of `demo` need), so the plain `make demo` needs no Maven.
build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The Spring Cloud test peers (examples/spring-cloud): Maven, only when their sources changed.
spring-apps: deps
	./scripts/build-spring-apps.sh

# APPS=spring: the same scenario with the real Spring Cloud apps (examples/spring-cloud).
# DEMO_ARGS=--keep: stay up with steady traffic so the mesh page (/ui) shows the split move.
demo: build $(if $(APPS)$(REGISTRY),spring-apps)
	$(BUILD_DIR)/sluice demo --examples examples/seed $(if $(APPS),--apps $(APPS)) $(if $(REGISTRY),--registry $(REGISTRY)) $(DEMO_ARGS)

# The format check, every test, a short smoke of the fuzz targets, then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer; in CI (CI=true) also the e2e suite against the
# sanitized binary.
test: format-check build spring-apps
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) fuzz-smoke
	$(MAKE) sanitize
ifeq ($(CI),true)
	$(MAKE) e2e-sanitized
endif

# clang-format --dry-run -Werror over src/ and tests/ (.clang-format), part of `make test`;
# `make format` fixes.
format-check: deps
	./scripts/check-format.sh

format:
	./scripts/check-format.sh --fix

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

e2e: build spring-apps
	cd $(BUILD_DIR) && ctest --output-on-failure -L e2e

# ASan/UBSan configuration of the unit tests (part of `make test`, so CI runs it).
SANITIZE_TARGETS = unit_core unit_net unit_http unit_config unit_registry unit_proxy unit_control
sanitize: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON
	cmake --build build-asan -j $(JOBS) --target $(SANITIZE_TARGETS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L unit

# The e2e suite against build-asan's ASan/UBSan sluice (scripts/e2e-sanitized.sh: any sanitizer
# report fails it; tests labelled jvm are left out, E2E_SANITIZED_EXCLUDE overrides).
e2e-sanitized: deps spring-apps
	JOBS=$(JOBS) ./scripts/e2e-sanitized.sh

# libFuzzer targets (tests/fuzz, clang + ASan/UBSan in build-fuzz): `make fuzz` runs each for
# FUZZ_SECONDS; `make fuzz-smoke` (part of `make test`) runs all of them in FUZZ_SMOKE_SECONDS total.
FUZZ_SECONDS ?= 30
FUZZ_SMOKE_SECONDS ?= 24
fuzz: deps
	./scripts/fuzz.sh --each $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: deps
	./scripts/fuzz.sh --total $(FUZZ_SMOKE_SECONDS)

# Fixed-rate latency/CPU per request (fortio, pinned by bench/install-tools.sh), gRPC unary calls
# (h2load) through sluice/nginx/HAProxy vs direct, registry change ->
# routing per adapter, and one sidecar's memory in a 10,000-service mesh (bench/README.md).
bench: build
	./bench/install-tools.sh
	node bench/fixed_rate.mjs $(BUILD_DIR)/sluice
	node bench/grpc_unary.mjs $(BUILD_DIR)/sluice
	node bench/registry_change.mjs $(BUILD_DIR)/sluice
	node bench/large_mesh.mjs $(BUILD_DIR)/sluice

clean:
	rm -rf $(BUILD_DIR) build-asan build-fuzz examples/spring-cloud/target examples/spring-cloud/*/target
