using System.Security.Cryptography;
using ReviewBot.Settings;

namespace ReviewBot.Tests.Settings;

public sealed class SecretCipherTests
{
    private static readonly byte[] KeyA = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] KeyB = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void Seal_then_Open_returns_the_plaintext_and_the_value_names_the_current_key()
    {
        var cipher = new SecretCipher(KeyA, []);
        var sealedValue = cipher.Seal(42, "sk-test-secret-value");

        Assert.StartsWith($"v1.{SecretCipher.KeyIdOf(KeyA)}.", sealedValue, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-test-secret-value", sealedValue, StringComparison.Ordinal);
        var opened = cipher.Open(42, sealedValue);
        Assert.Equal(SecretOpenStatus.Opened, opened.Status);
        Assert.Equal("sk-test-secret-value", opened.Plaintext);
        Assert.True(opened.IsCurrentKey);
    }

    [Fact]
    public void Seal_uses_a_fresh_nonce_so_the_same_key_never_looks_the_same()
    {
        var cipher = new SecretCipher(KeyA, []);
        Assert.NotEqual(cipher.Seal(42, "same"), cipher.Seal(42, "same"));
    }

    [Fact]
    public void Open_refuses_a_value_sealed_for_another_installation()
    {
        var cipher = new SecretCipher(KeyA, []);
        var opened = cipher.Open(43, cipher.Seal(42, "sk-test-secret-value"));

        Assert.Equal(SecretOpenStatus.Damaged, opened.Status);
        Assert.Null(opened.Plaintext);
        Assert.Contains("belongs to another installation", SecretCipher.Describe(opened), StringComparison.Ordinal);
    }

    [Fact]
    public void Open_refuses_a_tampered_value()
    {
        var cipher = new SecretCipher(KeyA, []);
        var parts = cipher.Seal(42, "sk-test-secret-value").Split('.');
        var payload = Convert.FromBase64String(parts[2]);
        payload[14] ^= 0x01;
        var opened = cipher.Open(42, $"{parts[0]}.{parts[1]}.{Convert.ToBase64String(payload)}");

        Assert.Equal(SecretOpenStatus.Damaged, opened.Status);
        Assert.Null(opened.Plaintext);
    }

    [Fact]
    public void Open_decrypts_with_an_old_key_and_says_it_is_not_current()
    {
        var before = new SecretCipher(KeyA, []);
        var sealedValue = before.Seal(7, "sk-old");
        var after = new SecretCipher(KeyB, [KeyA]);

        var opened = after.Open(7, sealedValue);
        Assert.Equal("sk-old", opened.Plaintext);
        Assert.False(opened.IsCurrentKey);
    }

    [Fact]
    public void Open_reports_a_key_that_is_no_longer_configured_by_its_id()
    {
        var sealedValue = new SecretCipher(KeyA, []).Seal(7, "sk-old");
        var opened = new SecretCipher(KeyB, []).Open(7, sealedValue);

        Assert.Equal(SecretOpenStatus.UnknownKey, opened.Status);
        var message = SecretCipher.Describe(opened)!;
        Assert.Contains(SecretCipher.KeyIdOf(KeyA), message, StringComparison.Ordinal);
        Assert.Contains("ENCRYPTION_KEY_OLD", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("plaintext-key")]
    [InlineData("v2.abcdef01.AAAA")]
    [InlineData("v1.abcdef01.not base64!")]
    [InlineData("v1.abcdef01.AAAA")]
    public void Open_reports_values_it_never_wrote_as_malformed(string value)
    {
        var cipher = new SecretCipher(KeyA, []);
        var opened = cipher.Open(1, value.Replace("abcdef01", cipher.CurrentKeyId, StringComparison.Ordinal));
        Assert.Equal(SecretOpenStatus.Malformed, opened.Status);
        Assert.NotNull(SecretCipher.Describe(opened));
    }
}
