#!/usr/bin/env bash
# Orphan recovery time after kill -9 (issue 5 goal: a job orphaned by kill -9 runs again on a live
# replica within 5 s). Two replicas of the real binary on one PostgreSQL, WireMock as GitHub and
# OpenAI holding the review in flight; the owner is killed and the time until the other replica has
# taken the job is measured, ROUNDS times (the measurement lives in
# tests/ReviewBot.IntegrationTests/Jobs/RecoveryMeasurement.cs, an explicit test never run by make test).
#
#   make publish && REVIEWBOT_BINARY=$PWD/artifacts/publish/ReviewBot bench/recovery/run.sh
#
# Needs REVIEWBOT_TEST_DATABASE_URL (any PostgreSQL where it may CREATE DATABASE).
set -euo pipefail
cd "$(dirname "$0")/../.."
export RECOVERY_RESULTS="$PWD/artifacts/bench-recovery.txt"
rm -f "$RECOVERY_RESULTS"
dotnet build tests/ReviewBot.IntegrationTests -c Debug -nologo -v quiet >/dev/null
dotnet test --project tests/ReviewBot.IntegrationTests --no-build -- --filter-method '*Measure_orphan_recovery_after_kill_9' --explicit only >/dev/null
cat "$RECOVERY_RESULTS"
