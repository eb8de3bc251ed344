using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ReviewBot.Configuration;

namespace ReviewBot.Tests.Configuration;

// The managed check must say what importing the key with RSA (OpenSSL) would: every case is checked
// against RSA.ImportFromPem itself, so a disagreement fails here rather than at the first JWT.
public sealed class RsaPrivateKeyPemTests
{
    private static readonly RSA Key2048 = RSA.Create(2048);

    public static TheoryData<string, string> Keys()
    {
        using var rsa1024 = RSA.Create(1024);
        using var rsa3072 = RSA.Create(3072);
        using var rsa2056 = RSA.Create(2056);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=test", Key2048, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        var pkcs1 = Key2048.ExportRSAPrivateKeyPem();
        var encrypted = Key2048.ExportEncryptedPkcs8PrivateKeyPem("password", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000));
        var truncated = TruncateBody(pkcs1);

        return new TheoryData<string, string>
        {
            { "PKCS#1 2048", pkcs1 },
            { "PKCS#8 2048", Key2048.ExportPkcs8PrivateKeyPem() },
            { "PKCS#1 3072", rsa3072.ExportRSAPrivateKeyPem() },
            { "PKCS#8 2056", rsa2056.ExportPkcs8PrivateKeyPem() },
            { "PKCS#1 1024", rsa1024.ExportRSAPrivateKeyPem() },
            { "PKCS#8 1024", rsa1024.ExportPkcs8PrivateKeyPem() },
            { "text around the key", "GitHub App key, downloaded 2026-11-24\n" + pkcs1 + "\nend of file\n" },
            { "certificate before the key", certificate.ExportCertificatePem() + "\n" + pkcs1 },
            { "public key (SPKI)", Key2048.ExportSubjectPublicKeyInfoPem() },
            { "public key (PKCS#1)", Key2048.ExportRSAPublicKeyPem() },
            { "encrypted PKCS#8", encrypted },
            { "EC key in PKCS#8", ec.ExportPkcs8PrivateKeyPem() },
            { "EC key", ec.ExportECPrivateKeyPem() },
            { "two keys", pkcs1 + "\n" + rsa3072.ExportRSAPrivateKeyPem() },
            { "private and public key", pkcs1 + "\n" + Key2048.ExportSubjectPublicKeyInfoPem() },
            { "truncated body", truncated },
            { "not base64 DER", "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETBYTES\n-----END RSA PRIVATE KEY-----" },
            { "PKCS#8 label on PKCS#1 DER", pkcs1.Replace("RSA PRIVATE KEY", "PRIVATE KEY", StringComparison.Ordinal) },
            { "PKCS#1 label on PKCS#8 DER", Key2048.ExportPkcs8PrivateKeyPem().Replace("PRIVATE KEY", "RSA PRIVATE KEY", StringComparison.Ordinal) },
            { "PKCS#1 rebuilt", Pkcs1(Key2048.ExportParameters(true)) },
            { "PKCS#1 version 1", Pkcs1(Key2048.ExportParameters(true), version: 1) },
            { "PKCS#1 with a trailing INTEGER", Pkcs1(Key2048.ExportParameters(true), trailing: true) },
            { "PKCS#1 private exponent longer than the modulus", Pkcs1(Key2048.ExportParameters(true), d: d => [1, .. d]) },
            { "PKCS#1 prime longer than half the modulus", Pkcs1(Key2048.ExportParameters(true), p: p => [1, .. p]) },
            { "PKCS#1 negative prime", Pkcs1(Key2048.ExportParameters(true), negativeP: true) },
            { "PKCS#8 rebuilt", Pkcs8(Key2048.ExportRSAPrivateKey()) },
            { "PKCS#8 version 1", Pkcs8(Key2048.ExportRSAPrivateKey(), version: 1) },
            { "PKCS#8 without algorithm parameters", Pkcs8(Key2048.ExportRSAPrivateKey(), nullParameters: false) },
            { "PKCS#8 with OCTET STRING parameters", Pkcs8(Key2048.ExportRSAPrivateKey(), parameters: w => w.WriteOctetString([1, 2])) },
            { "no PEM at all", "not a key" },
            { "empty", "" },
        };
    }

    [Theory]
    [MemberData(nameof(Keys))]
    public void Agrees_with_importing_the_key(string name, string pem)
    {
        Assert.True(Expected(pem) == RsaPrivateKeyPem.Check(pem), name);
    }

    // The negative-prime case above is built from a random key: it must encode whatever the key's bytes.
    [Fact]
    public void A_negative_prime_is_encoded_minimally_whatever_its_first_bytes()
    {
        Assert.Equal([0x80, 0x01], MinimalSigned([0xFF, 0xFF, 0x80, 0x01]));
        Assert.Equal([0xFF, 0x7F], MinimalSigned([0xFF, 0x7F]));
        Assert.Equal([0xC3, 0x00], MinimalSigned([0xC3, 0x00]));
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteInteger(MinimalSigned([0xFF, 0x80, 0x01]));
        Assert.Equal(new byte[] { 0x02, 0x02, 0x80, 0x01 }, writer.Encode());
    }

    [Fact]
    public void Accepts_the_keys_GitHub_hands_out_and_rejects_a_small_one()
    {
        using var small = RSA.Create(1024);

        Assert.Equal(PrivateKeyProblem.None, RsaPrivateKeyPem.Check(Key2048.ExportRSAPrivateKeyPem()));
        Assert.Equal(PrivateKeyProblem.TooSmall, RsaPrivateKeyPem.Check(small.ExportRSAPrivateKeyPem()));
        Assert.Equal(PrivateKeyProblem.NotAnRsaPrivateKey, RsaPrivateKeyPem.Check(Key2048.ExportSubjectPublicKeyInfoPem()));
    }

    private static PrivateKeyProblem Expected(string pem)
    {
        try
        {
            using var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            rsa.ExportRSAPrivateKey();
            return rsa.KeySize < RsaPrivateKeyPem.MinimumBits ? PrivateKeyProblem.TooSmall : PrivateKeyProblem.None;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            return PrivateKeyProblem.NotAnRsaPrivateKey;
        }
    }

    private static string Pkcs1(RSAParameters key, int version = 0, bool trailing = false, Func<byte[], byte[]>? d = null, Func<byte[], byte[]>? p = null, bool negativeP = false)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(version);
            writer.WriteIntegerUnsigned(Trim(key.Modulus!));
            writer.WriteIntegerUnsigned(Trim(key.Exponent!));
            writer.WriteIntegerUnsigned(Trim(d is null ? key.D! : d(key.D!)));
            if (negativeP)
            {
                // A full-size prime's top bit is set: without a leading zero, a negative number.
                writer.WriteInteger(MinimalSigned(Trim(key.P!)));
            }
            else
            {
                writer.WriteIntegerUnsigned(Trim(p is null ? key.P! : p(key.P!)));
            }

            writer.WriteIntegerUnsigned(Trim(key.Q!));
            writer.WriteIntegerUnsigned(Trim(key.DP!));
            writer.WriteIntegerUnsigned(Trim(key.DQ!));
            writer.WriteIntegerUnsigned(Trim(key.InverseQ!));
            if (trailing)
            {
                writer.WriteInteger(7);
            }
        }

        return PemEncoding.WriteString("RSA PRIVATE KEY", writer.Encode());
    }

    // RSAParameters pads values to fixed sizes; DER integers carry no redundant leading zeros.
    private static byte[] Trim(byte[] value)
    {
        var start = 0;
        while (start < value.Length - 1 && value[start] == 0)
        {
            start++;
        }

        return value[start..];
    }

    // Read as a signed (negative) number, a prime that starts 0xFF 0b1… has a redundant first byte,
    // which DER forbids and AsnWriter refuses (about one random key in 128): dropping it keeps the value.
    internal static byte[] MinimalSigned(byte[] value)
    {
        var start = 0;
        while (start < value.Length - 1 && value[start] == 0xFF && value[start + 1] >= 0x80)
        {
            start++;
        }

        return value[start..];
    }

    // Algorithm parameters: `parameters` when given, else NULL, or none at all.
    private static string Pkcs8(byte[] pkcs1, int version = 0, bool nullParameters = true, Action<AsnWriter>? parameters = null)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(version);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier("1.2.840.113549.1.1.1");
                if (parameters is not null)
                {
                    parameters(writer);
                }
                else if (nullParameters)
                {
                    writer.WriteNull();
                }
            }

            writer.WriteOctetString(pkcs1);
        }

        return PemEncoding.WriteString("PRIVATE KEY", writer.Encode());
    }

    private static string TruncateBody(string pem)
    {
        var lines = pem.Split('\n');
        return string.Join('\n', lines[..4]) + "\n" + lines[^1];
    }
}
