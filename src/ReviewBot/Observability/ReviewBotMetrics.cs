using Prometheus;

namespace ReviewBot.Observability;

// Every metric of CONTRACT §5, in one place. Label values are closed sets (outcomes, providers,
// operation names): never repository names, users or free text, so cardinality stays bounded.
internal sealed class ReviewBotMetrics
{
    public ReviewBotMetrics()
        : this(Metrics.DefaultFactory)
    {
    }

    public ReviewBotMetrics(IMetricFactory factory)
    {
        WebhooksReceived = factory.CreateCounter(
            "reviewbot_webhooks_received_total",
            "Webhook deliveries received, by event and outcome.",
            ["event", "outcome"]);
        Reviews = factory.CreateCounter(
            "reviewbot_reviews_total",
            "Reviews finished, by check run conclusion.",
            ["outcome"]);
        ReviewDuration = factory.CreateHistogram(
            "reviewbot_review_duration_seconds",
            "Time from claiming a review job to its completion.",
            new HistogramConfiguration { Buckets = [0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600] });
        QueueDepth = factory.CreateGauge(
            "reviewbot_queue_depth",
            "Review jobs by status (pending, processing), as last read from PostgreSQL.",
            ["status"]);
        JobRetries = factory.CreateCounter(
            "reviewbot_job_retries_total",
            "Review jobs put back for another attempt, by reason.",
            ["reason"]);
        JobsRecovered = factory.CreateCounter(
            "reviewbot_jobs_recovered_total",
            "Orphaned review jobs taken back after their worker died.");
        LlmRequests = factory.CreateCounter(
            "reviewbot_llm_requests_total",
            "LLM requests, by provider and outcome.",
            ["provider", "outcome"]);
        LlmRequestDuration = factory.CreateHistogram(
            "reviewbot_llm_request_duration_seconds",
            "LLM request duration, by provider.",
            new HistogramConfiguration { LabelNames = ["provider"], Buckets = [0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300] });
        LlmTokens = factory.CreateCounter(
            "reviewbot_llm_tokens_total",
            "LLM tokens used, by provider and kind (input, output).",
            ["provider", "kind"]);
        GitHubRequests = factory.CreateCounter(
            "reviewbot_github_requests_total",
            "GitHub REST requests, by operation and HTTP status (or 'error' when no response arrived).",
            ["operation", "status"]);
        ReviewComments = factory.CreateCounter(
            "reviewbot_review_comments_total",
            "Review findings, by outcome (posted inline, or unanchored and moved to the review body).",
            ["outcome"]);

        // Publish every label combination the contract names up front, so a scrape (and a dashboard)
        // sees each series at zero rather than only after its first event.
        foreach (var outcome in new[] { "success", "neutral", "failure", "skipped", "cancelled" })
        {
            Reviews.WithLabels(outcome);
        }

        foreach (var status in new[] { "pending", "processing" })
        {
            QueueDepth.WithLabels(status);
        }

        foreach (var outcome in new[] { "posted", "unanchored" })
        {
            ReviewComments.WithLabels(outcome);
        }

        foreach (var provider in new[] { "openai", "anthropic", "gemini" })
        {
            LlmTokens.WithLabels(provider, "input");
            LlmTokens.WithLabels(provider, "output");
        }
    }

    public Counter WebhooksReceived { get; }
    public Counter Reviews { get; }
    public Histogram ReviewDuration { get; }
    public Gauge QueueDepth { get; }
    public Counter JobRetries { get; }
    public Counter JobsRecovered { get; }
    public Counter LlmRequests { get; }
    public Histogram LlmRequestDuration { get; }
    public Counter LlmTokens { get; }
    public Counter GitHubRequests { get; }
    public Counter ReviewComments { get; }
}
