namespace ReviewBot.Settings;

// Every statement of the settings API and key rotation, named entity first. Values are always parameters.
internal static class SettingsSql
{
    // One row whether or not the installation or its settings exist, so the caller can tell
    // "unknown installation" from "known, never configured" from "configured".
    public const string SettingsSelect =
        """
        SELECT i.id IS NOT NULL                AS installation_known,
               i.suspended_at IS NOT NULL      AS suspended,
               s.installation_id IS NOT NULL   AS configured,
               s.enabled,
               s.llm_provider,
               s.model,
               s.api_key_encrypted,
               s.api_key_last4,
               s.custom_instructions,
               s.ignore_paths,
               s.review_drafts,
               s.reviews_per_hour,
               s.updated_at
        FROM (SELECT @installation_id::bigint AS id) AS wanted
        LEFT JOIN installations i ON i.id = wanted.id
        LEFT JOIN installation_settings s ON s.installation_id = wanted.id
        """;

    // The App may have been installed before ReviewBot first ran, so no installation event ever
    // created the row; the settings row's foreign key needs it.
    public const string InstallationEnsure =
        """
        INSERT INTO installations (id) VALUES (@installation_id)
        ON CONFLICT (id) DO NOTHING
        """;

    // FOR UPDATE: the provider-change check and the upsert below see the same row, even when two
    // PUTs for one installation race (the second waits, then checks against the first one's result).
    public const string SettingsLockCurrent =
        """
        SELECT llm_provider, api_key_encrypted IS NOT NULL AS has_key
        FROM installation_settings
        WHERE installation_id = @installation_id
        FOR UPDATE
        """;

    // A NULL @api_key_encrypted keeps the stored key and its last four characters (omitted apiKey).
    public const string SettingsUpsert =
        """
        INSERT INTO installation_settings
            (installation_id, enabled, llm_provider, model, api_key_encrypted, api_key_last4,
             custom_instructions, ignore_paths, review_drafts, reviews_per_hour, updated_at)
        VALUES
            (@installation_id, @enabled, @llm_provider, @model, @api_key_encrypted, @api_key_last4,
             @custom_instructions, @ignore_paths, @review_drafts, @reviews_per_hour, now())
        ON CONFLICT (installation_id) DO UPDATE SET
            enabled             = EXCLUDED.enabled,
            llm_provider        = EXCLUDED.llm_provider,
            model               = EXCLUDED.model,
            api_key_encrypted   = COALESCE(EXCLUDED.api_key_encrypted, installation_settings.api_key_encrypted),
            api_key_last4       = CASE WHEN EXCLUDED.api_key_encrypted IS NULL
                                       THEN installation_settings.api_key_last4
                                       ELSE EXCLUDED.api_key_last4 END,
            custom_instructions = EXCLUDED.custom_instructions,
            ignore_paths        = EXCLUDED.ignore_paths,
            review_drafts       = EXCLUDED.review_drafts,
            reviews_per_hour    = EXCLUDED.reviews_per_hour,
            updated_at          = now()
        """;

    // The admin listing. Bounded: an operator with more installations pages through the database.
    public const string InstallationListAll =
        """
        SELECT i.id, i.account_login, i.account_type, i.suspended_at IS NOT NULL AS suspended,
               s.installation_id IS NOT NULL AS configured, COALESCE(s.enabled, false) AS enabled
        FROM installations i
        LEFT JOIN installation_settings s ON s.installation_id = i.id
        ORDER BY i.id
        LIMIT 1000
        """;

    // What ReviewBot knows locally of the installations GitHub says a user may see.
    public const string InstallationListByIds =
        """
        SELECT i.id, i.account_login, i.account_type, i.suspended_at IS NOT NULL AS suspended,
               s.installation_id IS NOT NULL AS configured, COALESCE(s.enabled, false) AS enabled
        FROM installations i
        LEFT JOIN installation_settings s ON s.installation_id = i.id
        WHERE i.id = ANY(@ids)
        """;

    // Newest first; served by the index review_jobs_installation_created.
    public const string JobListRecent =
        """
        SELECT id, repo_full_name, pr_number, pr_title, commit_sha, status, conclusion, attempts,
               max_attempts, error_message, created_at, started_at, completed_at, input_tokens,
               output_tokens, comments_posted, comments_unanchored
        FROM review_jobs
        WHERE installation_id = @installation_id
        ORDER BY created_at DESC, id DESC
        LIMIT @limit
        """;

    // rotate-keys walks the table by primary key (keyset pagination) so rows it cannot re-encrypt
    // are reported once and never fetched again; rows already sealed with the current key are skipped.
    public const string SettingsSealedKeyBatch =
        """
        SELECT installation_id, api_key_encrypted
        FROM installation_settings
        WHERE installation_id > @after
          AND api_key_encrypted IS NOT NULL
        ORDER BY installation_id
        LIMIT @batch_size
        """;

    // Conditional on the value read: a PUT that stored a new key in between wins (and its value is
    // already sealed with the current key), so rotation runs safely beside the live service without
    // holding row locks while it works.
    public const string SettingsSealedKeyReplace =
        """
        UPDATE installation_settings
        SET api_key_encrypted = @new_value
        WHERE installation_id = @installation_id
          AND api_key_encrypted = @old_value
        """;
}
