#!/usr/bin/env bash
# Webhook intake benchmark: signed pull_request deliveries against the running service (published
# AOT binary) at CONCURRENCY, and, in the same run, pgbench doing one similar INSERT per transaction
# against the same PostgreSQL at the same concurrency. Prints both lines for bench/RESULTS.md.
#
#   bench/webhook-intake/run.sh                  # uses $REVIEWBOT_BINARY or artifacts/publish/ReviewBot
#   BENCH_ADMIN_URL=postgres://postgres@127.0.0.1:55432/postgres DURATION=20 CONCURRENCY=32 bench/webhook-intake/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
admin_url=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:55432/postgres}
duration=${DURATION:-20}
concurrency=${CONCURRENCY:-32}
port=${BENCH_PORT:-3100}
binary=${REVIEWBOT_BINARY:-$root/artifacts/publish/ReviewBot}
pgbench=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
secret=bench-webhook-secret
db_intake=rb_bench_intake_$$
db_pgbench=rb_bench_pgbench_$$
base=${admin_url%/*}

cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db_intake WITH (FORCE)" -c "DROP DATABASE IF EXISTS $db_pgbench WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

psql -q "$admin_url" -c "CREATE DATABASE $db_intake" -c "CREATE DATABASE $db_pgbench"
# The load comes from wrk (C, epoll) with bench/webhook-intake/intake.lua, as pgbench's load comes
# from a C client: the client's CPU is taken from the same two cores as the service's.
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
fixture="$root/../shared/fixtures/github/webhooks/pull_request/synchronize.payload.json"

# The schema for pgbench's database comes from the binary itself, so both runs insert into the same table.
export GITHUB_APP_ID=12345 GITHUB_WEBHOOK_SECRET=$secret ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)
export GITHUB_PRIVATE_KEY="$(openssl genrsa 2048 2>/dev/null)"
export GITHUB_API_URL=http://127.0.0.1:9/ LISTEN_ADDRESS=127.0.0.1 PORT=$port LOG_LEVEL=${LOG_LEVEL:-Information}
DATABASE_URL="$base/$db_pgbench" "$binary" migrate >/dev/null

DATABASE_URL="$base/$db_intake" "$binary" serve >/tmp/rb-bench-intake.log 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%FT%TZ)"
echo "== postgres: $(psql -tA "$admin_url" -c 'show server_version') fsync=$(psql -tA "$admin_url" -c 'show fsync') synchronous_commit=$(psql -tA "$admin_url" -c 'show synchronous_commit')"
# The machine is shared, so pgbench and the intake alternate for ROUNDS rounds: each pair sees
# about the same background load.
for round in $(seq 1 "${ROUNDS:-2}"); do
  # Every round starts from the same tables in both databases: a table that grew by 100k rows in the
  # round before slows both sides down and the rounds stop being comparable. Not from empty ones: a
  # running deployment has history, and an autoanalyze that lands on a table of a few dozen rows
  # right after a TRUNCATE makes PostgreSQL cache seq-scan plans in every pooled connection's
  # prepared statements until the next autoanalyze a minute later, while the table grows by 40k rows
  # (the 460-640 /s rounds of earlier runs; bench/RESULTS.md). 10,000 finished jobs and deliveries,
  # analyzed, as a service that has been running for a while has.
  for db in "$db_pgbench" "$db_intake"; do
    psql -q "$base/$db" -c "TRUNCATE review_jobs, webhook_deliveries" -f "$here/history.sql" -c "ANALYZE review_jobs" -c "ANALYZE webhook_deliveries" -c "CHECKPOINT"
  done
  echo "== round $round: pgbench, $concurrency clients, ${duration}s, one INSERT per transaction"
  "$pgbench" -n -c "$concurrency" -j 2 -T "$duration" -f "$here/insert.sql" "$base/$db_pgbench" 2>&1 | grep -E "^(tps|latency average)"
  echo "== round $round: intake, $concurrency concurrent signed POST /api/github/webhooks, ${duration}s (+3s warm-up), LOG_LEVEL=$LOG_LEVEL"
  export INTAKE_FIXTURE=$fixture INTAKE_SECRET=$secret
  INTAKE_RUN=$((round * 2)) wrk -t2 -c"$concurrency" -d3s -s "$here/intake.lua" "http://127.0.0.1:$port/api/github/webhooks" >/dev/null
  cpu_before=$(awk '{print $14+$15}' "/proc/$server_pid/stat")
  INTAKE_RUN=$((round * 2 + 1)) wrk -t2 -c"$concurrency" -d"${duration}s" -s "$here/intake.lua" "http://127.0.0.1:$port/api/github/webhooks" | tee /tmp/rb-bench-wrk.txt | grep -E '^   intake:'
  cpu_after=$(awk '{print $14+$15}' "/proc/$server_pid/stat")
  requests=$(grep -oE 'intake: [0-9]+' /tmp/rb-bench-wrk.txt | grep -oE '[0-9]+')
  echo "   service CPU: $(( (cpu_after - cpu_before) * 1000000 / $(getconf CLK_TCK) / requests )) µs per delivery"
  echo "   load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "== jobs stored by the intake in the last round: $(psql -tA "$base/$db_intake" -c 'select count(*) from review_jobs')"
