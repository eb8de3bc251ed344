using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ReviewBot.Settings;

// Slows down guessing of GitHub tokens: after MaxFailures failed authentications from one client
// address within Window, that address gets 429 until the window ends for any token but ADMIN_TOKEN
// (32+ characters: hopeless to guess either way, and an operator behind the same reverse proxy must
// not be locked out by someone else's guesses; SettingsAccess). In memory per process (a replica
// restart or another replica starts afresh), which is enough to turn an online guessing attack
// from thousands of tries a second into ten a minute. IPv6 clients are grouped by /64, the block one
// subscriber usually holds.
internal sealed class FailedAuthenticationLimiter(TimeProvider time)
{
    public const int MaxFailures = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    // Bounds memory under a spray of addresses; expired windows are dropped first.
    private const int MaxTrackedAddresses = 10_000;

    private readonly ConcurrentDictionary<string, Counter> _failures = new(StringComparer.Ordinal);

    public bool IsBlocked(IPAddress? address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (!_failures.TryGetValue(Key(address), out var counter))
        {
            return false;
        }

        lock (counter)
        {
            var remaining = counter.WindowStart + Window - time.GetUtcNow();
            if (remaining <= TimeSpan.Zero || counter.Count < MaxFailures)
            {
                return false;
            }

            retryAfter = remaining;
            return true;
        }
    }

    public void RecordFailure(IPAddress? address)
    {
        if (_failures.Count >= MaxTrackedAddresses)
        {
            Prune();
        }

        var now = time.GetUtcNow();
        var counter = _failures.GetOrAdd(Key(address), _ => new Counter { WindowStart = now });
        lock (counter)
        {
            if (now - counter.WindowStart >= Window)
            {
                counter.WindowStart = now;
                counter.Count = 0;
            }

            counter.Count++;
        }
    }

    internal static string Key(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes).ToString() + "/64";
        }

        return address.ToString();
    }

    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var (key, counter) in _failures)
        {
            if (now - counter.WindowStart >= Window)
            {
                _failures.TryRemove(key, out _);
            }
        }

        if (_failures.Count >= MaxTrackedAddresses)
        {
            // Still full of live windows: an address spray. Forgetting is safer than growing without bound.
            _failures.Clear();
        }
    }

    private sealed class Counter
    {
        public DateTimeOffset WindowStart { get; set; }

        public int Count { get; set; }
    }
}
