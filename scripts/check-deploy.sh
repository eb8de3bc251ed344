#!/usr/bin/env bash
# Checks the files under deploy/ (run by .ci/run, and by hand: scripts/check-deploy.sh):
#   - the Prometheus alert rules load (promtool check rules) and fire as their unit tests say
#     (promtool test rules);
#   - the Grafana dashboard is valid JSON and every query in it is valid PromQL;
#   - both use only ReviewBot metric names that CONTRACT §5 defines;
#   - tools/create-github-app turns app.yml into the manifest and completes the manifest flow
#     against a stand-in for GitHub on 127.0.0.1 (node --test).
# promtool comes from Debian's `prometheus` package, unpacked into artifacts/tools (nothing is
# installed system-wide and no Prometheus server is started).
set -euo pipefail
cd "$(dirname "$0")/.."

rules=deploy/prometheus/reviewbot-alerts.yml
rule_tests=deploy/prometheus/reviewbot-alerts.test.yml
dashboard=deploy/grafana/reviewbot-dashboard.json
tools="$PWD/artifacts/tools"

promtool=$(command -v promtool || true)
if [ -z "$promtool" ]; then
  promtool="$tools/prometheus/usr/bin/promtool"
  if [ ! -x "$promtool" ]; then
    mkdir -p "$tools"
    download() { (cd "$tools" && apt-get download -qq -o APT::Sandbox::User=root prometheus >/dev/null 2>&1); }
    download || { apt-get update -qq && download; }
    dpkg-deb -x "$(ls "$tools"/prometheus_*.deb | head -1)" "$tools/prometheus"
  fi
fi

"$promtool" check rules "$rules"
"$promtool" test rules "$rule_tests"

# Every dashboard query, with Grafana's variables filled in, must load as a Prometheus recording rule.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node - "$dashboard" > "$work/dashboard-queries.yml" <<'JS'
const fs = require("fs");
const dashboard = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const exprs = [];
const walk = (panels) => panels.forEach((p) => {
  (p.targets || []).forEach((t) => exprs.push(t.expr));
  walk(p.panels || []);
});
walk(dashboard.panels);
if (exprs.length === 0) throw new Error("no queries in the dashboard");
console.log("groups:\n  - name: dashboard\n    rules:");
exprs.forEach((e, i) => {
  const filled = e.replaceAll("$__rate_interval", "5m").replaceAll("$job", ".+");
  console.log(`      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(filled)}`);
});
JS
"$promtool" check rules "$work/dashboard-queries.yml" | sed 's/^/dashboard queries: /'

# Only the names of CONTRACT §5 (histograms add _bucket, _sum and _count).
allowed="reviewbot_webhooks_received_total reviewbot_reviews_total reviewbot_review_duration_seconds
reviewbot_queue_depth reviewbot_job_retries_total reviewbot_jobs_recovered_total reviewbot_llm_requests_total
reviewbot_llm_request_duration_seconds reviewbot_llm_tokens_total reviewbot_github_requests_total
reviewbot_review_comments_total"
unknown=0
for name in $(grep -ohE 'reviewbot_[a-z_]+' "$rules" "$rule_tests" "$dashboard" | sort -u); do
  base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$name")
  if ! grep -qw -- "$base" <<<"$allowed"; then
    echo "unknown metric name: $name" >&2
    unknown=1
  fi
done
[ "$unknown" = 0 ]
echo "deploy/: alert rules, their tests and the dashboard are valid"

if ! node --test tools/create-github-app/create-github-app.test.mjs > "$work/create-github-app-test.log" 2>&1; then
  cat "$work/create-github-app-test.log"
  exit 1
fi
echo "app.yml: tools/create-github-app completes the manifest flow (node --test)"
