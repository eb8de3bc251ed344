using System.Security.Cryptography;
using System.Text;
using ReviewBot.Pages;

namespace ReviewBot.Tests.Pages;

public sealed class ConfiguredDataProtectionTests
{
    private static readonly byte[] KeyA = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] KeyB = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void Protect_round_trips_and_never_shows_the_plaintext_or_repeats_itself()
    {
        var protector = new ConfiguredDataProtectionProvider(KeyA, []).CreateProtector("session");
        var plain = Encoding.UTF8.GetBytes("ghu_usertoken0000000000000000000000001");

        var first = protector.Protect(plain);
        var second = protector.Protect(plain);

        Assert.Equal(plain, protector.Unprotect(first));
        Assert.NotEqual(first, second);
        Assert.DoesNotContain("ghu_", Encoding.UTF8.GetString(first), StringComparison.Ordinal);
    }

    [Fact]
    public void Another_replica_with_the_same_ENCRYPTION_KEY_opens_the_payload()
    {
        var sealedValue = new ConfiguredDataProtectionProvider(KeyA, []).CreateProtector("session").Protect([1, 2, 3]);
        Assert.Equal([1, 2, 3], new ConfiguredDataProtectionProvider(KeyA, []).CreateProtector("session").Unprotect(sealedValue));
    }

    [Fact]
    public void Unprotect_refuses_another_purpose_a_tampered_payload_and_an_unknown_key()
    {
        var provider = new ConfiguredDataProtectionProvider(KeyA, []);
        var sealedValue = provider.CreateProtector("session").Protect([1, 2, 3]);

        Assert.ThrowsAny<CryptographicException>(() => provider.CreateProtector("antiforgery").Unprotect(sealedValue));
        Assert.ThrowsAny<CryptographicException>(() => provider.CreateProtector("session").CreateProtector("nested").Unprotect(sealedValue));
        var tampered = (byte[])sealedValue.Clone();
        tampered[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => provider.CreateProtector("session").Unprotect(tampered));
        Assert.ThrowsAny<CryptographicException>(() => new ConfiguredDataProtectionProvider(KeyB, []).CreateProtector("session").Unprotect(sealedValue));
        Assert.ThrowsAny<CryptographicException>(() => provider.CreateProtector("session").Unprotect([1, 2]));
    }

    [Fact]
    public void After_a_key_rotation_payloads_of_ENCRYPTION_KEY_OLD_still_open()
    {
        var before = new ConfiguredDataProtectionProvider(KeyA, []).CreateProtector("session").Protect([9]);
        Assert.Equal([9], new ConfiguredDataProtectionProvider(KeyB, [KeyA]).CreateProtector("session").Unprotect(before));
    }
}
