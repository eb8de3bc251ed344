using System.Security.Cryptography;
using System.Text;

namespace ReviewBot.GitHub;

// "Validating webhook deliveries" (docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
// X-Hub-Signature-256 is "sha256=" + lowercase hex HMAC-SHA256 of the raw payload bytes, keyed with
// the webhook secret, compared in constant time. The bytes are checked before any JSON parsing, so
// nothing an unauthenticated sender wrote reaches the parser.
internal static class WebhookSignature
{
    private const string Prefix = "sha256=";
    private const int HexLength = 64;

    public static bool Verify(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> body, string? header)
    {
        if (header is null || header.Length != Prefix.Length + HexLength || !header.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(secret, body, expected);

        Span<byte> given = stackalloc byte[32];
        if (Convert.FromHexString(header.AsSpan(Prefix.Length), given, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    public static string Compute(string secret, ReadOnlySpan<byte> body) =>
        Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
