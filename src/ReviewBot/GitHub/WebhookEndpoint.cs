using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Npgsql;
using ReviewBot.Configuration;
using ReviewBot.Jobs;
using ReviewBot.Observability;

namespace ReviewBot.GitHub;

// POST /api/github/webhooks (CONTRACT §3). GitHub waits 10 seconds for an answer and never
// redelivers on its own ("Handling webhook deliveries", docs.github.com/en/webhooks/using-webhooks/
// handling-webhook-deliveries: "respond within 10 seconds"), so the handler verifies, stores in one
// transaction and returns; every GitHub and LLM call happens later in the job.
internal sealed partial class WebhookEndpoint(
    ReviewBotOptions options,
    JobIntake intake,
    ReviewBotMetrics metrics,
    ILogger<WebhookEndpoint> logger)
{
    public const string Path = "/api/github/webhooks";

    // CONTRACT §3: 413 over 25 MiB (GitHub itself caps payloads at 25 MB).
    public const long MaxBodyBytes = 25L * 1024 * 1024;

    // Well inside GitHub's 10 s, so a hanging database yields a 503 (and a failed delivery the
    // recovery loop redelivers) rather than a timeout.
    private static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(5);

    private readonly byte[] _secret = Encoding.UTF8.GetBytes(options.GitHubWebhookSecret);

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var gitHubEvent = request.Headers["X-GitHub-Event"].ToString();
        var label = WebhookRouter.EventLabel(gitHubEvent);

        if (request.ContentLength > MaxBodyBytes)
        {
            return Reject(label, "bad_request", StatusCodes.Status413PayloadTooLarge, "Payload over 25 MiB");
        }

        var signature = request.Headers["X-Hub-Signature-256"].ToString();
        if (signature.Length == 0)
        {
            return Reject(label, "invalid_signature", StatusCodes.Status401Unauthorized, "Missing X-Hub-Signature-256");
        }

        byte[]? rented = null;
        try
        {
            int length;
            BodyRead read;
            try
            {
                (read, rented, length) = await ReadBodyAsync(request.BodyReader, context.RequestAborted);
            }
            catch (BadHttpRequestException ex)
            {
                // Kestrel's own body limits (sits just above ours) and malformed framing.
                return Reject(label, "bad_request", ex.StatusCode, "Unreadable request body");
            }

            switch (read)
            {
                case BodyRead.TooLarge:
                    return Reject(label, "bad_request", StatusCodes.Status413PayloadTooLarge, "Payload over 25 MiB");
                case BodyRead.Cut:
                    // The server is stopping and stopped reading before the body was complete. A 401 over
                    // the partial body would be final (the recovery loop redelivers only 5xx and no-answer
                    // failures); a 503 makes it a failed delivery that is asked for again.
                    return Reject(label, "unavailable", StatusCodes.Status503ServiceUnavailable, "Shutting down before the whole body arrived; redeliver");
            }

            var body = rented.AsMemory(0, length);
            if (!WebhookSignature.Verify(_secret, body.Span, signature))
            {
                return Reject(label, "invalid_signature", StatusCodes.Status401Unauthorized, "Signature does not match");
            }

            var deliveryId = request.Headers["X-GitHub-Delivery"].ToString();
            if (gitHubEvent.Length == 0 || gitHubEvent.Length > 100 || deliveryId.Length == 0 || deliveryId.Length > 100)
            {
                return Reject(label, "bad_request", StatusCodes.Status400BadRequest, "X-GitHub-Event and X-GitHub-Delivery are required");
            }

            WebhookPayload? payload;
            try
            {
                payload = JsonSerializer.Deserialize(body.Span, GitHubWebhookJsonContext.Default.WebhookPayload);
            }
            catch (JsonException)
            {
                return Reject(label, "bad_request", StatusCodes.Status400BadRequest, "Malformed JSON or a field of the wrong type");
            }

            if (payload is null)
            {
                return Reject(label, "bad_request", StatusCodes.Status400BadRequest, "The payload must be a JSON object");
            }

            var action = WebhookRouter.Route(gitHubEvent, payload, options.GitHubAppId, deliveryId);
            using var scope = LogContext.Begin(new LogContextValues(
                InstallationId: payload.Installation?.Id,
                Repo: payload.Repository?.FullName,
                Pr: payload.PullRequest?.Number ?? payload.Issue?.Number,
                DeliveryId: deliveryId));
            return await StoreAsync(gitHubEvent, label, deliveryId, payload, action, context.RequestAborted);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private async Task<IResult> StoreAsync(
        string gitHubEvent, string label, string deliveryId, WebhookPayload payload, WebhookAction action, CancellationToken aborted)
    {
        if (action is WebhookAction.Invalid invalid)
        {
            return Reject(label, "bad_request", StatusCodes.Status400BadRequest, invalid.Message);
        }

        var delivery = new DeliveryInfo(deliveryId, gitHubEvent, payload.Action, payload.Installation is { Id: > 0 } i ? i.Id : null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(DatabaseTimeout);
        try
        {
            if (action is WebhookAction.RerunJob rerun)
            {
                // Inside the try: a database that is away makes this a 503 like any other store.
                action = await intake.FindPullRequestOfJobAsync(rerun.JobId, rerun.InstallationId, rerun.RepoId, timeout.Token) is { } found
                    ? WebhookRouter.Rerun(rerun.InstallationId, rerun.RepoId, rerun.Repo, found.PrNumber, rerun.HeadSha, found.BaseBranch, rerun.DeliveryId)
                    : new WebhookAction.Ignore("check_run without pull request");
            }

            switch (action)
            {
                case WebhookAction.Enqueue enqueue:
                {
                    var result = await intake.EnqueueReviewAsync(delivery, enqueue.Request, timeout.Token);
                    if (!result.Recorded)
                    {
                        return Duplicate(label);
                    }

                    if (result.JobId is { } jobId)
                    {
                        Log.JobStored(logger, gitHubEvent, payload.Action, jobId, enqueue.Request.CommitSha, result.Superseded);
                        metrics.WebhooksReceived.WithLabels(label, "accepted").Inc();
                        return Results.Text($"Accepted: review job {jobId}\n", statusCode: StatusCodes.Status202Accepted);
                    }

                    // Another delivery already stored the job for this SHA: a duplicate of that job.
                    Log.JobExisted(logger, gitHubEvent, payload.Action, enqueue.Request.DedupeKey);
                    metrics.WebhooksReceived.WithLabels(label, "duplicate").Inc();
                    return Results.Text("A review of this commit is already queued\n", statusCode: StatusCodes.Status200OK);
                }

                case WebhookAction.CancelPullRequest cancel:
                {
                    var (recorded, cancelled) = await intake.CancelClosedPullRequestAsync(delivery, cancel.InstallationId, cancel.RepoId, cancel.PrNumber, timeout.Token);
                    if (!recorded)
                    {
                        return Duplicate(label);
                    }

                    Log.PullRequestClosed(logger, cancelled);
                    metrics.WebhooksReceived.WithLabels(label, "accepted").Inc();
                    return Results.Text($"Cancelled {cancelled} pending review(s)\n", statusCode: StatusCodes.Status200OK);
                }

                case WebhookAction.ChangeInstallation change:
                {
                    if (!await intake.ApplyInstallationChangeAsync(delivery, change.Change, timeout.Token))
                    {
                        return Duplicate(label);
                    }

                    Log.InstallationChanged(logger, gitHubEvent, payload.Action, change.Change.InstallationId);
                    metrics.WebhooksReceived.WithLabels(label, "accepted").Inc();
                    return Results.Text("Installation updated\n", statusCode: StatusCodes.Status200OK);
                }

                case WebhookAction.Ignore ignore:
                {
                    if (!await intake.RecordDeliveryAsync(delivery, "ignored", timeout.Token))
                    {
                        return Duplicate(label);
                    }

                    Log.Ignored(logger, gitHubEvent, payload.Action, ignore.Reason);
                    metrics.WebhooksReceived.WithLabels(label, "ignored").Inc();
                    return Results.Text(gitHubEvent == "ping" ? "pong\n" : $"Ignored: {ignore.Reason}\n", statusCode: StatusCodes.Status200OK);
                }

                default:
                    throw new InvalidOperationException("unknown webhook action " + action.GetType().Name);
            }
        }
        catch (Exception ex) when (IsDatabaseUnavailable(ex) && !aborted.IsCancellationRequested)
        {
            Log.DatabaseUnavailable(logger, gitHubEvent, ex is PostgresException { SqlState: var state } ? $"{nameof(PostgresException)} {state}" : ex.GetType().Name);
            metrics.WebhooksReceived.WithLabels(label, "unavailable").Inc();
            return Results.Text("Database unavailable; redeliver later\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    private static bool IsDatabaseUnavailable(Exception ex) =>
        ex is NpgsqlException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException;

    private enum BodyRead
    {
        Read,
        TooLarge,  // more than MaxBodyBytes arrived
        Cut,       // the read was cancelled (the server stopping) before the body was complete
    }

    // Reads the body into one pooled array (only when Read), giving up as soon as more than
    // MaxBodyBytes have arrived, so an oversized body is never held in full.
    private static async Task<(BodyRead Read, byte[]? Buffer, int Length)> ReadBodyAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.Length > MaxBodyBytes || (result.IsCanceled && !result.IsCompleted))
            {
                reader.AdvanceTo(buffer.End);
                return (buffer.Length > MaxBodyBytes ? BodyRead.TooLarge : BodyRead.Cut, null, 0);
            }

            if (result.IsCompleted)
            {
                var length = (int)buffer.Length;
                var array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                buffer.CopyTo(array);
                reader.AdvanceTo(buffer.End);
                return (BodyRead.Read, array, length);
            }

            // Nothing consumed, everything examined: the next read returns once more bytes arrive.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private IResult Duplicate(string label)
    {
        Log.Duplicate(logger);
        metrics.WebhooksReceived.WithLabels(label, "duplicate").Inc();
        return Results.Text("Delivery already received\n", statusCode: StatusCodes.Status200OK);
    }

    private IResult Reject(string label, string outcome, int status, string message)
    {
        Log.Rejected(logger, status, message);
        metrics.WebhooksReceived.WithLabels(label, outcome).Inc();
        return Results.Text(message + "\n", statusCode: status);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Webhook {Event}.{Action}: stored review job {JobId} for {CommitSha} ({Superseded} older job(s) superseded)")]
        public static partial void JobStored(ILogger logger, string @event, string? action, long jobId, string commitSha, long superseded);

        [LoggerMessage(2, LogLevel.Information, "Webhook {Event}.{Action}: a job with key {DedupeKey} already exists")]
        public static partial void JobExisted(ILogger logger, string @event, string? action, string dedupeKey);

        [LoggerMessage(3, LogLevel.Information, "Webhook pull_request.closed: cancelled {Cancelled} pending job(s)")]
        public static partial void PullRequestClosed(ILogger logger, long cancelled);

        [LoggerMessage(4, LogLevel.Information, "Webhook {Event}.{Action}: installation {Installation} updated")]
        public static partial void InstallationChanged(ILogger logger, string @event, string? action, long installation);

        [LoggerMessage(5, LogLevel.Debug, "Webhook {Event}.{Action} ignored: {Reason}")]
        public static partial void Ignored(ILogger logger, string @event, string? action, string reason);

        [LoggerMessage(6, LogLevel.Debug, "Webhook delivery already received; nothing done")]
        public static partial void Duplicate(ILogger logger);

        [LoggerMessage(7, LogLevel.Warning, "Webhook rejected with {Status}: {Reason}")]
        public static partial void Rejected(ILogger logger, int status, string reason);

        [LoggerMessage(8, LogLevel.Error, "Webhook {Event}: database unavailable ({ErrorType}); answered 503 so GitHub marks the delivery failed")]
        public static partial void DatabaseUnavailable(ILogger logger, string @event, string errorType);
    }
}
