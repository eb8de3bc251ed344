using System.Security.Cryptography;

namespace ReviewBot.IntegrationTests.Infrastructure;

internal static class TestKeys
{
    private static readonly Lazy<string> Pem = new(() =>
    {
        using var rsa = RSA.Create(2048);
        return rsa.ExportRSAPrivateKeyPem();
    });

    public static string PrivateKeyPem => Pem.Value;

    public static string EncryptionKeyBase64 { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public const string WebhookSecret = "test-webhook-secret-that-is-long-enough";

    public const string AdminToken = "test-admin-token-0123456789abcdef0123456789";
}
