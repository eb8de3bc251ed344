using System.Net;
using Microsoft.Extensions.Time.Testing;
using ReviewBot.Settings;

namespace ReviewBot.Tests.Settings;

public sealed class FailedAuthenticationLimiterTests
{
    [Fact]
    public void Blocks_an_address_after_ten_failures_until_the_window_ends()
    {
        var time = new FakeTimeProvider();
        var limiter = new FailedAuthenticationLimiter(time);
        var address = IPAddress.Parse("203.0.113.7");

        for (var i = 0; i < FailedAuthenticationLimiter.MaxFailures - 1; i++)
        {
            limiter.RecordFailure(address);
        }

        Assert.False(limiter.IsBlocked(address, out _));
        limiter.RecordFailure(address);
        Assert.True(limiter.IsBlocked(address, out var retryAfter));
        Assert.True(retryAfter > TimeSpan.Zero && retryAfter <= FailedAuthenticationLimiter.Window);

        Assert.False(limiter.IsBlocked(IPAddress.Parse("203.0.113.8"), out _));

        time.Advance(FailedAuthenticationLimiter.Window);
        Assert.False(limiter.IsBlocked(address, out _));
    }

    [Fact]
    public void Groups_IPv6_clients_by_64_bit_prefix_and_maps_IPv4_in_IPv6()
    {
        Assert.Equal(
            FailedAuthenticationLimiter.Key(IPAddress.Parse("2001:db8:1:2::1")),
            FailedAuthenticationLimiter.Key(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.NotEqual(
            FailedAuthenticationLimiter.Key(IPAddress.Parse("2001:db8:1:2::1")),
            FailedAuthenticationLimiter.Key(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.Equal("192.0.2.1", FailedAuthenticationLimiter.Key(IPAddress.Parse("::ffff:192.0.2.1")));
    }
}
