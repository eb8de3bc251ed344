-- ReviewBot schema.
--
-- Applied by `ReviewBot serve` and `ReviewBot migrate` (Configuration/SchemaMigrator.cs) inside one
-- transaction holding a transaction-level advisory lock, so replicas starting together never race.
-- The file is a list of numbered steps, each starting with a line `-- step N: title`. A step runs
-- once, in order, and its number is recorded in schema_version. Every statement is also written to be
-- harmless when run again (IF NOT EXISTS), so a half-recorded step can be retried.
-- Released steps are never edited: a change to the schema is a new step at the end.

-- step 1: installations, settings, webhook deliveries, review jobs

CREATE TABLE IF NOT EXISTS installations (
    id            bigint PRIMARY KEY,              -- GitHub's installation id
    account_login text NOT NULL DEFAULT '',
    account_type  text NOT NULL DEFAULT '',        -- User | Organization
    suspended_at  timestamptz,                     -- set by installation.suspend; reviews pause
    -- Review jobs of this installation now processing, on any replica. Claiming a job increments it
    -- under the row lock only while it is below REVIEW_CONCURRENCY_PER_INSTALLATION, which is what
    -- makes that limit hold across replicas (Jobs/JobSql.cs).
    running       integer NOT NULL DEFAULT 0 CHECK (running >= 0),
    -- An upstream (the installation's LLM key, its GitHub token) said "retry after": no job of this
    -- installation is claimed before then, on any replica.
    not_before    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Repositories an installation can see (installation / installation_repositories events).
CREATE TABLE IF NOT EXISTS installation_repositories (
    installation_id bigint NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
    repo_id         bigint NOT NULL,
    full_name       text   NOT NULL,
    PRIMARY KEY (installation_id, repo_id)
);

CREATE TABLE IF NOT EXISTS installation_settings (
    installation_id     bigint  PRIMARY KEY REFERENCES installations (id) ON DELETE CASCADE,
    enabled             boolean NOT NULL DEFAULT true,
    llm_provider        text    NOT NULL DEFAULT 'openai'
                        CHECK (llm_provider IN ('openai', 'anthropic', 'gemini')),
    model               text    NOT NULL DEFAULT '',
    -- AES-256-GCM sealed value "v1.<keyId>.<base64(nonce|ciphertext|tag)>", installation id as AAD.
    api_key_encrypted   text,
    api_key_last4       text,
    custom_instructions text    NOT NULL DEFAULT '',
    ignore_paths        text[]  NOT NULL DEFAULT '{}',
    review_drafts       boolean NOT NULL DEFAULT false,
    reviews_per_hour    integer CHECK (reviews_per_hour IS NULL OR reviews_per_hour > 0),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Every X-GitHub-Delivery id ReviewBot has stored. The primary key makes a redelivery a no-op and
-- lets the delivery-recovery loop tell which failed deliveries were never recorded.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id     text PRIMARY KEY,
    event           text NOT NULL,
    action          text,
    installation_id bigint,
    outcome         text NOT NULL,                 -- accepted | ignored
    received_at     timestamptz NOT NULL DEFAULT now()
);
-- Pruning deletes by age.
CREATE INDEX IF NOT EXISTS webhook_deliveries_received_at ON webhook_deliveries (received_at);

CREATE TABLE IF NOT EXISTS review_jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    installation_id  bigint  NOT NULL,             -- no foreign key: a job may arrive before the installation event
    repo_id          bigint  NOT NULL,
    repo_full_name   text    NOT NULL,
    pr_number        integer NOT NULL,
    pr_title         text    NOT NULL DEFAULT '',
    commit_sha       text    NOT NULL,
    base_branch      text    NOT NULL DEFAULT '',
    -- opened | reopened | synchronize | ready_for_review | rerequested | comment
    trigger          text    NOT NULL,
    -- Set for explicit re-runs (check_run rerequested, @reviewbot review): the marker gains :run=ID
    -- and the whole pull request is reviewed again.
    run_id           text,
    delivery_id      text,
    -- One job per (repository, pull request, SHA[, run]) however many deliveries arrive.
    dedupe_key       text    NOT NULL,
    status           text    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled', 'superseded')),
    -- Check run conclusion once finished: success | neutral | failure | skipped | cancelled.
    conclusion       text,
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 3,
    run_after        timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,                         -- "host/pid/key" of the worker process holding it
    -- The session-level advisory lock key its owner holds while alive: when the owner's connection
    -- dies (kill -9, crash), Postgres releases the lock and the job is recognisably orphaned.
    lease_key        bigint,
    lease_expires_at timestamptz,
    heartbeat_at     timestamptz,                  -- renewed every second or so while it runs
    check_run_id     bigint,
    review_id        bigint,
    reviewed_from_sha text,                        -- base of an incremental review (compare API), null for a full one
    error_message    text,
    input_tokens     integer NOT NULL DEFAULT 0,
    output_tokens    integer NOT NULL DEFAULT 0,
    comments_posted     integer NOT NULL DEFAULT 0,
    comments_unanchored integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS review_jobs_dedupe_key ON review_jobs (dedupe_key);
-- The claim query takes each installation's oldest runnable job with one probe of this index.
CREATE INDEX IF NOT EXISTS review_jobs_pending_by_installation ON review_jobs (installation_id, run_after, id) WHERE status = 'pending';
-- The dispatcher's "when is the next job due" and the queue-depth count read only pending jobs.
CREATE INDEX IF NOT EXISTS review_jobs_pending ON review_jobs (run_after, id) WHERE status = 'pending';
-- Lease expiry and per-installation concurrency look only at running jobs.
CREATE INDEX IF NOT EXISTS review_jobs_processing ON review_jobs (installation_id, lease_expires_at) WHERE status = 'processing';
-- Supersede, cancel-on-close and "last reviewed SHA" look up one pull request.
CREATE INDEX IF NOT EXISTS review_jobs_pull_request ON review_jobs (repo_id, pr_number, id);
-- Settings API lists an installation's recent jobs; pruning deletes finished jobs by age.
CREATE INDEX IF NOT EXISTS review_jobs_installation_created ON review_jobs (installation_id, created_at DESC);
CREATE INDEX IF NOT EXISTS review_jobs_completed_at ON review_jobs (completed_at) WHERE completed_at IS NOT NULL;

-- step 2: credential cooldowns shared by replicas
-- A wait an upstream named for a credential (Retry-After, a rate-limit reset) outlives the process
-- that heard it: a replica that starts, or whose listener reconnects, inside the wait reads it here
-- instead of learning it again from a 429 (Upstream/CredentialCooldown, Jobs/JobPresence). The
-- credential is its non-secret name (github:app, github:installation:ID, provider:key:HASH).
CREATE TABLE IF NOT EXISTS credential_cooldowns (
    credential text PRIMARY KEY,
    until      timestamptz NOT NULL
);

-- step 3: pending jobs of a pull request by their own index
-- Intake supersedes (newer SHA) and cancels (closed) a pull request's pending jobs. With only the
-- pending queue's index and the pull request index to choose from, PostgreSQL's cached generic plan
-- for that UPDATE walked the whole pending queue whenever the statistics said few jobs were pending
-- (as they do in a healthy deployment): one index probe while the queue is short, a scan of every
-- pending job per delivery once a backlog builds (an LLM outage, a burst), which is when intake
-- matters most (bench/RESULTS.md, webhook intake, session 4: 660 instead of ~3,000 deliveries/s).
CREATE INDEX IF NOT EXISTS review_jobs_pending_pull_request ON review_jobs (repo_id, pr_number) WHERE status = 'pending';

-- step 4: queued check runs for jobs waiting for a slot
-- A job that waits (its installation at REVIEW_CONCURRENCY_PER_INSTALLATION, the process at
-- REVIEW_CONCURRENCY) gets its check run early, as `queued` (Jobs/CheckRunAnnouncer), so the pull
-- request shows that ReviewBot has it. check_run_announced_at is set when an announcer takes the
-- job: while the announcement is in flight (no check_run_id yet, less than 30 s old) no worker
-- claims the job, so it never gets two check runs; after that, the worker looks the check run up by
-- its external id before creating one, as for a retried job.
ALTER TABLE review_jobs ADD COLUMN IF NOT EXISTS check_run_announced_at timestamptz;
-- The announcer's candidates: waiting jobs nobody has announced.
CREATE INDEX IF NOT EXISTS review_jobs_unannounced ON review_jobs (created_at, id)
    WHERE status = 'pending' AND check_run_id IS NULL AND check_run_announced_at IS NULL;

-- step 5: a check run may exist for the job without its id stored
-- check_run_requested_at is set when a check run may have been asked for on the job's behalf: when a
-- worker claims it (it creates one at once unless it has one) and when the announcer is about to
-- create its queued one. A process that dies between GitHub's answer and storing the id leaves a
-- check run on GitHub that only its external id (the job id) leads back to. While this is set, the
-- next worker looks that check run up before creating another and concludes any duplicates when it
-- finishes, and intake leaves the job to the runner instead of superseding or cancelling it in the
-- database alone, which would leave that check run in progress for ever.
ALTER TABLE review_jobs ADD COLUMN IF NOT EXISTS check_run_requested_at timestamptz;
-- Jobs already claimed or announced before this step: their check run may exist too.
UPDATE review_jobs SET check_run_requested_at = coalesce(check_run_announced_at, updated_at)
WHERE check_run_requested_at IS NULL AND status IN ('pending', 'processing')
  AND (attempts > 0 OR check_run_announced_at IS NOT NULL);
