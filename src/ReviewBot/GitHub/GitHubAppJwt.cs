using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ReviewBot.Configuration;

namespace ReviewBot.GitHub;

// "Generating a JSON Web Token (JWT) for a GitHub App" (docs.github.com/en/apps/creating-github-apps/
// authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app): RS256, `iat`
// 60 seconds in the past against clock drift, `exp` no more than 10 minutes ahead, `iss` the App ID.
internal sealed class GitHubAppJwt : IDisposable
{
    public static readonly TimeSpan IssuedAtSkew = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(9);

    // A cached JWT is replaced this long before it expires, so no request carries one that lapses in flight.
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(1);

    private readonly RSA _key;
    private readonly long _appId;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private (string Token, DateTimeOffset ExpiresAt)? _cached;

    public GitHubAppJwt(ReviewBotOptions options, TimeProvider time)
    {
        _appId = options.GitHubAppId;
        _time = time;
        _key = RSA.Create();

        // ImportFromPem reads both "BEGIN RSA PRIVATE KEY" (PKCS#1, what GitHub downloads) and
        // "BEGIN PRIVATE KEY" (PKCS#8).
        _key.ImportFromPem(options.GitHubPrivateKeyPem);
    }

    public string Current()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_cached is { } cached && now < cached.ExpiresAt - RenewBefore)
            {
                return cached.Token;
            }

            var expiresAt = now + Lifetime;
            var token = Create(_key, _appId, now);
            _cached = (token, expiresAt);
            return token;
        }
    }

    public static string Create(RSA key, long appId, DateTimeOffset now)
    {
        var header = Base64Url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"u8);

        var payload = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(payload))
        {
            writer.WriteStartObject();
            writer.WriteNumber("iat", (now - IssuedAtSkew).ToUnixTimeSeconds());
            writer.WriteNumber("exp", (now + Lifetime).ToUnixTimeSeconds());
            writer.WriteString("iss", appId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteEndObject();
        }

        var signingInput = header + "." + Base64Url(payload.WrittenSpan);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    public void Dispose() => _key.Dispose();

    private static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
