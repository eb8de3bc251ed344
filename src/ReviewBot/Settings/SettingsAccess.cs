using System.Security.Cryptography;
using System.Text;
using ReviewBot.Configuration;
using ReviewBot.GitHub;

namespace ReviewBot.Settings;

internal abstract record SettingsCaller
{
    public abstract bool MaySee(long installationId);
}

// ADMIN_TOKEN: every installation.
internal sealed record OperatorCaller : SettingsCaller
{
    public override bool MaySee(long installationId) => true;
}

// A GitHub user access token: exactly the installations GET /user/installations lists for it.
internal sealed record GitHubUserCaller(IReadOnlyList<UserInstallation> Installations) : SettingsCaller
{
    public override bool MaySee(long installationId) => Installations.Any(i => i.Id == installationId);
}

internal enum AccessFailure
{
    None,
    Unauthenticated,     // 401
    TooManyFailures,     // 429
    GitHubUnavailable,   // 502: cannot tell who the caller is right now
}

internal readonly record struct AccessResult(SettingsCaller? Caller, AccessFailure Failure, TimeSpan RetryAfter = default);

// Who is calling the settings API (CONTRACT §3 "Settings API authentication").
internal sealed partial class SettingsAccess
{
    // GitHub tokens are ghu_/gho_/ghp_/github_pat_ followed by [A-Za-z0-9_]; anything far from that
    // shape (spaces, quotes, kilobytes) is refused without being forwarded to GitHub.
    private const int MaxTokenLength = 255;

    private readonly byte[]? _adminTokenHash;
    private readonly UserInstallationsCache _userInstallations;
    private readonly FailedAuthenticationLimiter _limiter;
    private readonly ILogger<SettingsAccess> _logger;

    public SettingsAccess(ReviewBotOptions options, UserInstallationsCache userInstallations, FailedAuthenticationLimiter limiter, ILogger<SettingsAccess> logger)
    {
        _adminTokenHash = options.AdminToken is { Length: > 0 } admin ? SHA256.HashData(Encoding.UTF8.GetBytes(admin)) : null;
        _userInstallations = userInstallations;
        _limiter = limiter;
        _logger = logger;
    }

    public async Task<AccessResult> AuthenticateAsync(HttpContext context, CancellationToken cancellationToken)
    {
        return await AuthenticateTokenAsync(BearerToken(context.Request.Headers.Authorization.ToString()), context.Connection.RemoteIpAddress, cancellationToken);
    }

    // The one rule for a token, however it arrived: the API's bearer header, or the settings page's
    // session (Pages/), which holds the GitHub user token from the OAuth web flow.
    public async Task<AccessResult> AuthenticateTokenAsync(string? token, System.Net.IPAddress? address, CancellationToken cancellationToken)
    {
        // No token guesses nothing: 401, not a failure against the address. Behind a reverse proxy every
        // caller shares the proxy's address, and anonymous requests would otherwise lock everyone out.
        if (token is null)
        {
            return new AccessResult(null, AccessFailure.Unauthenticated);
        }

        // The operator's token is checked before the block: ADMIN_TOKEN has at least 32 characters, so
        // guessing it is hopeless with or without the limit, and a flood of bad guesses from the shared
        // address must not lock the operator out. Both sides are hashed to 32 bytes first, so the
        // comparison takes the same time whatever the guess (CryptographicOperations.FixedTimeEquals).
        if (_adminTokenHash is not null
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), _adminTokenHash))
        {
            return new AccessResult(new OperatorCaller(), AccessFailure.None);
        }

        if (_limiter.IsBlocked(address, out var retryAfter))
        {
            Log.Throttled(_logger, FailedAuthenticationLimiter.Key(address));
            return new AccessResult(null, AccessFailure.TooManyFailures, retryAfter);
        }

        if (token.Length > MaxTokenLength || !token.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            return Fail(address, "malformed token");
        }

        var listing = await _userInstallations.GetAsync(token, cancellationToken);
        return listing.Outcome switch
        {
            UserInstallationsOutcome.Listed => new AccessResult(new GitHubUserCaller(listing.Installations), AccessFailure.None),
            UserInstallationsOutcome.TokenRejected => Fail(address, "token rejected by GitHub"),
            _ => new AccessResult(null, AccessFailure.GitHubUnavailable, listing.RetryAfter),
        };
    }

    private AccessResult Fail(System.Net.IPAddress? address, string reason)
    {
        _limiter.RecordFailure(address);
        Log.AuthenticationFailed(_logger, reason, FailedAuthenticationLimiter.Key(address));
        return new AccessResult(null, AccessFailure.Unauthenticated);
    }

    // RFC 6750 §2.1: Authorization: Bearer <token>; the scheme is case-insensitive (RFC 9110 §11.1).
    private static string? BearerToken(string header)
    {
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header[Scheme.Length..].Trim();
        return token.Length == 0 ? null : token;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Settings API authentication failed ({Reason}) from {ClientAddress}")]
        public static partial void AuthenticationFailed(ILogger logger, string reason, string clientAddress);

        [LoggerMessage(2, LogLevel.Warning, "Settings API request from {ClientAddress} refused: too many failed authentications")]
        public static partial void Throttled(ILogger logger, string clientAddress);
    }
}
