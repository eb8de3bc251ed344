namespace ReviewBot.Jobs;

// Every statement against review_jobs lives here, named entity first. Values are always parameters.
internal static class JobSql
{
    public const string JobCountByStatus =
        """
        SELECT count(*) FILTER (WHERE status = 'pending')    AS pending,
               count(*) FILTER (WHERE status = 'processing') AS processing
        FROM review_jobs
        WHERE status IN ('pending', 'processing')
        """;

    // ---------------------------------------------------------------------------------------------
    // Intake: statements the webhook handler runs inside its delivery transaction.
    // ---------------------------------------------------------------------------------------------



    // ---------------------------------------------------------------------------------------------
    // Queue: claiming, leases, completion, retries, recovery, pruning.
    // ---------------------------------------------------------------------------------------------



}
