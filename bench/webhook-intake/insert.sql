-- pgbench script: the same kind of row the webhook intake stores, one INSERT per transaction
-- (autocommit), with a unique dedupe key so every transaction inserts.
\set pr random(1, 2000000000)
INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, base_branch, trigger, delivery_id, dedupe_key)
VALUES (1, 186853002, 'Codertocat/Hello-World', :pr, 'Update the README with new information.', md5(random()::text) || 'ec26c3e5', 'master', 'synchronize', gen_random_uuid()::text, gen_random_uuid()::text);
