using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ReviewBot.Simulator.GitHub;

// Checks a GitHub App JWT the way GitHub does ("Generating a JSON Web Token (JWT) for a GitHub App",
// docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app):
// RS256 signed with the App's private key, `iss` the App ID (or client ID), `iat` not in the
// future, `exp` in the future and at most 10 minutes after `iat`.
public sealed class AppJwtVerifier(RSA publicKey, long appId, TimeProvider time)
{
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(10);

    // Small allowance for clocks; the simulator and ReviewBot share one, so it only covers rounding.
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(2);

    // Null when valid, otherwise GitHub's kind of message.
    public string? Verify(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return "A JSON web token could not be decoded";
        }

        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return "A JSON web token could not be decoded";
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.GetString() != "RS256")
            {
                return "'Expiration time' claim ('exp') is invalid"; // GitHub says little more for a wrong algorithm
            }

            var signature = Base64Url.DecodeFromChars(parts[2]);
            if (!publicKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
            {
                return "A JSON web token could not be decoded";
            }

            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var root = payload.RootElement;
            var iss = root.TryGetProperty("iss", out var i) ? (i.ValueKind == JsonValueKind.Number ? i.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) : i.GetString()) : null;
            if (iss != appId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                return "'Issuer' claim ('iss') must be an Integer";
            }

            var now = time.GetUtcNow();
            var iat = DateTimeOffset.FromUnixTimeSeconds(root.GetProperty("iat").GetInt64());
            var exp = DateTimeOffset.FromUnixTimeSeconds(root.GetProperty("exp").GetInt64());
            if (iat > now + Skew)
            {
                return "'Issued at' claim ('iat') must be an Integer representing a time in the past";
            }

            if (exp <= now || exp - iat > MaxLifetime)
            {
                return "'Expiration time' claim ('exp') is too far in the future";
            }

            return null;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or CryptographicException)
        {
            return "A JSON web token could not be decoded";
        }
    }

    // The simulator may be given the App's private key (it derives the public half) or the public key.
    public static RSA ImportKey(string pem)
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(pem.Replace("\\n", "\n", StringComparison.Ordinal));
        var publicOnly = RSA.Create();
        publicOnly.ImportParameters(rsa.ExportParameters(false));
        rsa.Dispose();
        return publicOnly;
    }
}
