using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ReviewBot.Configuration;
using ReviewBot.GitHub;

namespace ReviewBot.Tests.GitHub;

public sealed class GitHubAppJwtTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Jwt_is_RS256_signed_with_the_app_key_and_verifies_with_the_public_key(bool pkcs8)
    {
        using var rsa = RSA.Create(2048);
        var pem = pkcs8 ? rsa.ExportPkcs8PrivateKeyPem() : rsa.ExportRSAPrivateKeyPem();
        using var jwt = new GitHubAppJwt(Options(pem), new FakeTimeProvider(Now));

        var token = jwt.Current();

        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        using var publicKey = RSA.Create();
        publicKey.ImportFromPem(rsa.ExportSubjectPublicKeyInfoPem());
        Assert.True(publicKey.VerifyData(
            Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]),
            System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]),
            HashAlgorithmName.SHA256,
            RSASignaturePadding.Pkcs1));

        using var header = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[0]));
        Assert.Equal("RS256", header.RootElement.GetProperty("alg").GetString());
        using var payload = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
        Assert.Equal(Now.AddSeconds(-60).ToUnixTimeSeconds(), payload.RootElement.GetProperty("iat").GetInt64());
        var exp = payload.RootElement.GetProperty("exp").GetInt64();
        Assert.InRange(exp - Now.ToUnixTimeSeconds(), 60, 600);
        Assert.Equal("4242", payload.RootElement.GetProperty("iss").GetString());
    }

    [Fact]
    public void Jwt_signed_with_another_key_does_not_verify()
    {
        using var rsa = RSA.Create(2048);
        using var other = RSA.Create(2048);
        using var jwt = new GitHubAppJwt(Options(rsa.ExportRSAPrivateKeyPem()), new FakeTimeProvider(Now));
        var parts = jwt.Current().Split('.');
        Assert.False(other.VerifyData(
            Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]),
            System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]),
            HashAlgorithmName.SHA256,
            RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public void Jwt_is_reused_until_a_minute_before_expiry_then_renewed()
    {
        using var rsa = RSA.Create(2048);
        var time = new FakeTimeProvider(Now);
        using var jwt = new GitHubAppJwt(Options(rsa.ExportRSAPrivateKeyPem()), time);

        var first = jwt.Current();
        time.Advance(TimeSpan.FromMinutes(7));
        Assert.Equal(first, jwt.Current());
        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var renewed = jwt.Current();
        Assert.NotEqual(first, renewed);
        using var payload = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(renewed.Split('.')[1]));
        Assert.Equal(time.GetUtcNow().AddSeconds(-60).ToUnixTimeSeconds(), payload.RootElement.GetProperty("iat").GetInt64());
    }

    private static ReviewBotOptions Options(string pem) => new()
    {
        GitHubAppId = 4242,
        GitHubPrivateKeyPem = pem,
        GitHubWebhookSecret = "secret",
        DatabaseConnectionString = "Host=localhost",
        EncryptionKey = new byte[32],
    };
}
