# ReviewBot developer commands. `make test` and `make demo` are all a newcomer needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

DOTNET ?= dotnet
CONFIGURATION ?= Release
PUBLISH_DIR := artifacts/publish
TEST_PG_DIR := $(CURDIR)/artifacts/test-postgres
TEST_PG_PORT ?= 55439
RUN_PG_DIR := $(CURDIR)/.data/postgres
RUN_PG_PORT ?= 55440

export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: build test test-unit test-integration publish run clean rd-xml

build:
	$(DOTNET) build ReviewBot.slnx -c Debug

# Unit + integration tests against a real PostgreSQL. When REVIEWBOT_TEST_DATABASE_URL is unset,
# a throwaway server is started from Debian's PostgreSQL binaries (or Testcontainers is used when a
# Docker engine answers) and removed afterwards.
test:
	@scripts/test.sh

demo:
	@scripts/demo.sh

# Rewrites src/ReviewBot/ReviewBot.rd.xml, the generic types the DI container closes at start, from
# what the real composition builds (PrecompiledGenericsTests); run it after changing registrations
# or packages when that test fails.
rd-xml:
	@REVIEWBOT_UPDATE_RD_XML=1 TEST_PROJECT=tests/ReviewBot.IntegrationTests TEST_ARGS="--filter-class *PrecompiledGenericsTests" scripts/test.sh

publish:
	@mkdir -p artifacts
	$(DOTNET) publish src/ReviewBot/ReviewBot.csproj -c $(CONFIGURATION) -r linux-x64 -o $(PUBLISH_DIR) 2>&1 | tee artifacts/publish.log
	@if grep -E "warning (IL|AOT|CS|NU1)[0-9]+" artifacts/publish.log | grep -v NU1603 >/dev/null; then \
	  echo "publish produced trim/AOT warnings:"; grep -E "warning (IL|AOT)[0-9]+" artifacts/publish.log; exit 1; fi
	@ls -l $(PUBLISH_DIR)/ReviewBot

# Runs the service locally: reads .env if present, and starts a PostgreSQL under .data/ when
# DATABASE_URL is not set.
run: build
	@set -a; [ -f .env ] && . ./.env; set +a; \
	if [ -z "$${DATABASE_URL:-}" ]; then \
	  export DATABASE_URL=$$(scripts/postgres.sh start $(RUN_PG_DIR) $(RUN_PG_PORT)); \
	  echo "using local PostgreSQL in .data/ ($$DATABASE_URL)"; \
	fi; \
	exec artifacts/bin/ReviewBot/debug/ReviewBot serve

clean:
	-scripts/postgres.sh stop $(TEST_PG_DIR) 2>/dev/null
	-scripts/postgres.sh stop $(RUN_PG_DIR) 2>/dev/null
	rm -rf artifacts .data
