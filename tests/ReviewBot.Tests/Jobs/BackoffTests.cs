using ReviewBot.Jobs;

namespace ReviewBot.Tests.Jobs;

public sealed class BackoffTests
{
    [Theory]
    [InlineData(1, 5, 10)]
    [InlineData(2, 10, 20)]
    [InlineData(3, 20, 40)]
    [InlineData(20, 300, 600)]
    public void Delay_grows_exponentially_within_half_to_full_ceiling_and_is_capped(int attempt, double minSeconds, double maxSeconds)
    {
        var random = new Random(42);
        for (var i = 0; i < 1000; i++)
        {
            var delay = Backoff.Delay(attempt, null, random);
            Assert.InRange(delay.TotalSeconds, minSeconds, maxSeconds);
        }
    }

    [Fact]
    public void Delay_is_never_earlier_than_retry_after()
    {
        var random = new Random(7);
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(Backoff.Delay(1, TimeSpan.FromSeconds(90), random) >= TimeSpan.FromSeconds(90));
        }
    }

    [Fact]
    public void Delay_keeps_backoff_when_it_is_longer_than_retry_after()
    {
        var delay = Backoff.Delay(6, TimeSpan.FromSeconds(1), new Random(1));
        Assert.True(delay >= TimeSpan.FromSeconds(160));
    }

    [Fact]
    public void Delay_is_jittered()
    {
        var random = new Random(3);
        var delays = Enumerable.Range(0, 50).Select(_ => Backoff.Delay(3, null, random)).Distinct().Count();
        Assert.True(delays > 40);
    }

    [Fact]
    public void Review_marker_follows_the_contract()
    {
        var job = new ClaimedJob(1, 2, 3, "o/r", 4, "t", "abc123", "main", "opened", null, null, 1, 3, null, DateTimeOffset.UtcNow);
        Assert.Equal("<!-- reviewbot:sha=abc123 -->", job.ReviewMarker);
        Assert.Equal("<!-- reviewbot:sha=abc123:run=d-1 -->", (job with { RunId = "d-1" }).ReviewMarker);
    }
}
