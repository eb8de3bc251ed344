namespace ReviewBot.Jobs;

// When a transiently failed job runs again: exponential backoff with full jitter (AWS Architecture
// Blog, "Exponential Backoff And Jitter"), never earlier than the Retry-After the upstream gave.
internal static class Backoff
{
    public static readonly TimeSpan Base = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Cap = TimeSpan.FromMinutes(10);

    public static TimeSpan Delay(int attempt, TimeSpan? retryAfter, Random random, TimeSpan? baseDelay = null)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 16);
        var ceiling = Math.Min(Cap.TotalMilliseconds, (baseDelay ?? Base).TotalMilliseconds * Math.Pow(2, exponent));
        // Half fixed, half random: spreads a thundering herd while keeping a floor that grows.
        var delay = TimeSpan.FromMilliseconds((ceiling / 2) + (random.NextDouble() * ceiling / 2));
        if (retryAfter is { } floor && floor > delay)
        {
            // Retry-After is a floor, not a suggestion: a little jitter on top, never below.
            delay = floor + TimeSpan.FromMilliseconds(random.NextDouble() * 1000);
        }

        return delay;
    }
}
