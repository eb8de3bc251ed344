-- The history every benchmark round starts from (run.sh): 10,000 finished review jobs of one
-- installation across 2,000 pull requests, and the deliveries that created them.
INSERT INTO webhook_deliveries (delivery_id, event, action, installation_id, outcome, received_at)
SELECT 'history-' || g, 'pull_request', 'synchronize', 1, 'accepted', now() - g * interval '1 minute'
FROM generate_series(1, 10000) g;

INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, base_branch,
                         trigger, delivery_id, dedupe_key, status, conclusion, attempts, created_at, started_at, completed_at)
SELECT 1, 186853002, 'Codertocat/Hello-World', g % 2000 + 1, 'Update the README with new information.', md5(g::text) || 'ec26c3e5',
       'master', 'synchronize', 'history-' || g, '186853002:' || (g % 2000 + 1) || ':' || md5(g::text) || 'ec26c3e5',
       'completed', 'success', 1, now() - g * interval '1 minute', now() - g * interval '1 minute', now() - g * interval '1 minute'
FROM generate_series(1, 10000) g;
