#!/usr/bin/env bash
# `make test`: builds, provides a PostgreSQL, runs the unit and integration test projects, and ends
# with one line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

pg_dir="$PWD/artifacts/test-postgres"
pg_port=${TEST_PG_PORT:-55439}
started_pg=0

cleanup() {
  if [ "$started_pg" = 1 ]; then
    scripts/postgres.sh stop "$pg_dir" || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT

if [ -z "${REVIEWBOT_TEST_DATABASE_URL:-}" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "test: using Testcontainers (Docker engine found)"
  else
    rm -rf "$pg_dir"
    REVIEWBOT_TEST_DATABASE_URL=$(scripts/postgres.sh start "$pg_dir" "$pg_port")
    export REVIEWBOT_TEST_DATABASE_URL
    started_pg=1
    echo "test: throwaway PostgreSQL at $REVIEWBOT_TEST_DATABASE_URL"
  fi
fi

dotnet build ReviewBot.slnx -c Debug -warnaserror -nologo -v quiet

log=artifacts/test-output.log
mkdir -p artifacts
set +e
if [ -n "${TEST_PROJECT:-}" ]; then
  # One project, with test-platform arguments (make rd-xml).
  # shellcheck disable=SC2086
  dotnet test --project "$TEST_PROJECT" --no-build -c Debug -- ${TEST_ARGS:-} 2>&1 | tee "$log"
else
  dotnet test --solution ReviewBot.slnx --no-build -c Debug 2>&1 | tee "$log"
fi
status=${PIPESTATUS[0]}
set -e

total=$(grep -E '^\s+total: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
failed=$(grep -E '^\s+failed: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
passed=$(grep -E '^\s+succeeded: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
skipped=$(grep -E '^\s+skipped: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
if [ "$total" = 0 ] && [ "$status" = 0 ]; then
  echo "test: no tests ran" >&2
  status=1
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
