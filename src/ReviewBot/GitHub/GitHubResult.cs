namespace ReviewBot.GitHub;

internal enum GitHubOutcome
{
    Ok,
    NotFound,
    Unprocessable,
    Unauthorized,
    Forbidden,
    RateLimited,
    Transient,
}

// Every GitHub call answers with a value, never an exception for an expected failure. RateLimited
// and Transient carry when to try again: waits longer than the client retries inline come back here,
// so the job is re-queued with run_after instead of holding a worker.
internal readonly record struct GitHubResult<T>
{
    public GitHubOutcome Outcome { get; init; }
    public T? Value { get; init; }
    public string? Message { get; init; }
    public int? StatusCode { get; init; }

    // RateLimited: the earliest time GitHub allows the call again.
    public DateTimeOffset? RetryAt { get; init; }

    // Transient: a suggested wait (Retry-After or backoff), when known.
    public TimeSpan? RetryAfter { get; init; }

    public bool IsOk => Outcome == GitHubOutcome.Ok;

    public static GitHubResult<T> Ok(T value) => new() { Outcome = GitHubOutcome.Ok, Value = value, StatusCode = 200 };

    public static GitHubResult<T> Failure(GitHubOutcome outcome, string? message, int? statusCode = null, DateTimeOffset? retryAt = null, TimeSpan? retryAfter = null) =>
        new() { Outcome = outcome, Message = message, StatusCode = statusCode, RetryAt = retryAt, RetryAfter = retryAfter };

    // The same failure, for a caller returning another value type.
    public GitHubResult<TOther> As<TOther>() => new()
    {
        Outcome = Outcome,
        Message = Message,
        StatusCode = StatusCode,
        RetryAt = RetryAt,
        RetryAfter = RetryAfter,
    };

    public override string ToString() => IsOk ? "Ok" : $"{Outcome} ({StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no response"}): {Message}";
}
