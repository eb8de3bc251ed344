#!/usr/bin/env bash
# The database's share of the intake benchmark, without any HTTP. pgbench (C, prepared statements)
# runs the intake's own statement (Jobs/JobSql.JobEnqueueFromDelivery, taken from the source so the
# two never drift apart) the way the service sends it: from JobIntake's four writer connections,
# one delivery per transaction when deliveries trickle in and several per pipelined transaction
# (group commit) under load. Alternating with it, run.sh's baseline: pgbench's plain INSERT from 32
# clients. For each line: rows per second and the machine's CPU time per row (all processes and
# the kernel; rates move with whatever else the machine does, the CPU a row costs far less).
#
# What it tells: run.sh's ratio is (baseline CPU per row) / (intake's database CPU per delivery +
# the HTTP side's: service, load generator, kernel), all on the same cores.
#
#   BENCH_ADMIN_URL=postgres://postgres@127.0.0.1:55432/postgres DURATION=10 ROUNDS=3 bench/webhook-intake/ceiling.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
admin_url=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:55432/postgres}
duration=${DURATION:-10}
concurrency=${CONCURRENCY:-32}
binary=${REVIEWBOT_BINARY:-$root/artifacts/publish/ReviewBot}
pgbench=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
base=${admin_url%/*}
db_insert=rb_ceiling_insert_$$
db_intake=rb_ceiling_intake_$$
work=$(mktemp -d)

cleanup() {
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db_insert WITH (FORCE)" -c "DROP DATABASE IF EXISTS $db_intake WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# pgbench scripts from the C# constant: $n become the values one real delivery carries, each
# delivery id, pull request, head SHA and dedupe key unique per transaction.
python3 - "$root/src/ReviewBot/Jobs/JobSql.cs" "$work" <<'PY'
import re, sys
source, work = sys.argv[1], sys.argv[2]
sql = re.search(r'JobEnqueueFromDelivery =\s*"""(.*?)""";', open(source).read(), re.S).group(1)
sql = " ".join(l.strip() for l in sql.splitlines() if l.strip() and not l.strip().startswith("--"))
def statement(n):
    values = {1: f"('delivery-' || :r{n} || '-' || :pr{n})", 2: "'pull_request'", 3: "'synchronize'", 4: "1",
              5: "186853002", 6: "'Codertocat/Hello-World'", 7: f":pr{n}", 8: "'Update the README with new information.'",
              9: f"md5(:r{n} || '-' || :pr{n})", 10: "'master'", 11: "'synchronize'", 12: "NULL::text",
              13: f"('186853002:' || :pr{n} || ':' || :r{n})", 14: "5"}
    s = sql
    for k in sorted(values, reverse=True):
        s = s.replace(f"${k}", values[k])
    return s + ";"
def variables(n):
    return f"\\set pr{n} random(1, 2000000000)\n\\set r{n} random(1, 2000000000)\n"
for size in (1, 8):
    open(f"{work}/intake{size}.sql", "w").write("".join(variables(n) for n in range(size)) + "\\startpipeline\n"
        + "".join(statement(n) + "\n" for n in range(size)) + "\\endpipeline\n")
PY

psql -q "$admin_url" -c "CREATE DATABASE $db_insert" -c "CREATE DATABASE $db_intake"
for db in "$db_insert" "$db_intake"; do
  DATABASE_URL="$base/$db" GITHUB_APP_ID=1 GITHUB_PRIVATE_KEY="$(openssl genrsa 2048 2>/dev/null)" \
    GITHUB_WEBHOOK_SECRET=x ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64) "$binary" migrate >/dev/null
done

# The machine's busy CPU time (all cores, every process: pgbench, PostgreSQL, the kernel), in µs.
busy() { awk '/^cpu / {printf "%.0f\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1000000 / '"$(getconf CLK_TCK)"'}' /proc/stat; }

run() { # db script mode per-transaction clients label
  psql -q "$base/$1" -c "TRUNCATE review_jobs, webhook_deliveries" -f "$here/history.sql" \
    -c "ANALYZE review_jobs" -c "ANALYZE webhook_deliveries" -c "CHECKPOINT"
  local tps before after
  before=$(busy)
  tps=$("$pgbench" -n -c "$5" -j 2 -M "$3" -T "$duration" -f "$2" "$base/$1" 2>&1 | awk '/^tps/ {print $3}')
  after=$(busy)
  # Rates move with whatever else the machine does; the CPU a row costs moves far less.
  printf '%-58s %8.0f rows/s  %5.0f µs of CPU per row\n' "$6" "$(echo "$tps * $4" | bc -l)" \
    "$(echo "($after - $before) / ($tps * $4 * $duration)" | bc -l)"
}

echo "== $(nproc) cores, $(date -u +%FT%TZ), ${duration}s each"
for round in $(seq 1 "${ROUNDS:-3}"); do
  echo "== round $round"
  run "$db_insert" "$here/insert.sql" simple 1 "$concurrency" "plain INSERT, $concurrency clients (run.sh's pgbench line)"
  run "$db_intake" "$work/intake1.sql" prepared 1 4 "intake statement, 4 writers, one delivery per transaction"
  run "$db_intake" "$work/intake8.sql" prepared 8 4 "intake statement, 4 writers, 8 deliveries per transaction"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done
