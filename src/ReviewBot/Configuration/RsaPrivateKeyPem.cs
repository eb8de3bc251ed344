using System.Formats.Asn1;
using System.Security.Cryptography;

namespace ReviewBot.Configuration;

internal enum PrivateKeyProblem
{
    None,
    NotAnRsaPrivateKey,
    TooSmall,
}

// Checks GITHUB_PRIVATE_KEY the way RSA.ImportFromPem would read it, in managed code: PEM and DER
// parsing only. Importing the key with RSA needs OpenSSL, and loading libssl and libcrypto cost
// ~10 ms of every start before anything else could run (bench/RESULTS.md, startup, session 6); the
// key is imported when the container builds GitHubAppJwt, while the first database connection is
// being opened (importing it at the first signature instead put that work beside the first request:
// slower, session 7). What is accepted: exactly one key in the text (as ImportFromPem requires), PKCS#1
// "RSA PRIVATE KEY" (what GitHub downloads) or unencrypted PKCS#8 "PRIVATE KEY" holding an
// rsaEncryption key, with a modulus of at least 2048 bits.
internal static class RsaPrivateKeyPem
{
    public const int MinimumBits = 2048;

    private const string RsaEncryptionOid = "1.2.840.113549.1.1.1";

    // The labels ImportFromPem recognizes; any other PEM block (a certificate beside the key) is skipped as it skips it.
    private static readonly string[] KeyLabels = ["RSA PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PUBLIC KEY", "PUBLIC KEY"];

    public static PrivateKeyProblem Check(string pem)
    {
        ReadOnlySpan<char> rest = pem;
        (string Label, byte[] Der)? key = null;
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            if (Array.IndexOf(KeyLabels, label) >= 0)
            {
                if (key is not null)
                {
                    return PrivateKeyProblem.NotAnRsaPrivateKey;
                }

                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out var written))
                {
                    return PrivateKeyProblem.NotAnRsaPrivateKey;
                }

                key = (label, der[..written]);
            }

            rest = rest[fields.Location.End..];
        }

        try
        {
            var modulusBits = key switch
            {
                ("RSA PRIVATE KEY", var der) => Pkcs1ModulusBits(der),
                ("PRIVATE KEY", var der) => Pkcs8ModulusBits(der),
                _ => -1,
            };
            return modulusBits switch
            {
                < 0 => PrivateKeyProblem.NotAnRsaPrivateKey,
                < MinimumBits => PrivateKeyProblem.TooSmall,
                _ => PrivateKeyProblem.None,
            };
        }
        catch (AsnContentException)
        {
            return PrivateKeyProblem.NotAnRsaPrivateKey;
        }
    }

    // PrivateKeyInfo (RFC 5208) / OneAsymmetricKey (RFC 5958):
    // SEQUENCE { version, AlgorithmIdentifier, privateKey OCTET STRING, [0] attributes, [1] publicKey }.
    private static int Pkcs8ModulusBits(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.BER);
        var info = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        if (!info.TryReadInt32(out var version) || version is not (0 or 1))
        {
            return -1;
        }

        // rsaEncryption; .NET does not look at the parameters.
        var algorithm = info.ReadSequence();
        if (algorithm.ReadObjectIdentifier() != RsaEncryptionOid)
        {
            return -1;
        }

        return Pkcs1ModulusBits(info.ReadOctetString());
    }

    // RSAPrivateKey (RFC 8017 A.1.2): SEQUENCE { version, modulus, publicExponent, privateExponent,
    // prime1, prime2, exponent1, exponent2, coefficient } (version 0: two primes, no otherPrimeInfos),
    // with the sizes .NET imports: the private exponent no longer than the modulus, the CRT values
    // no longer than half of it.
    private static int Pkcs1ModulusBits(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.BER);
        var key = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        if (!key.TryReadInt32(out var version) || version != 0)
        {
            return -1;
        }

        var modulus = Positive(key.ReadIntegerBytes().Span);
        var publicExponent = Positive(key.ReadIntegerBytes().Span);
        var privateExponent = Positive(key.ReadIntegerBytes().Span);
        if (modulus.IsEmpty || publicExponent.IsEmpty || privateExponent.IsEmpty || privateExponent.Length > modulus.Length)
        {
            return -1;
        }

        var half = (modulus.Length + 1) / 2;
        for (var i = 0; i < 5; i++)
        {
            var value = Positive(key.ReadIntegerBytes().Span);
            if (value.IsEmpty || value.Length > half)
            {
                return -1;
            }
        }

        key.ThrowIfNotEmpty();

        // As RSA.KeySize reports it: the modulus's length in whole bytes.
        return modulus.Length * 8;
    }

    // An INTEGER's bytes as .NET imports them, unsigned, without leading zero bytes; empty for zero.
    private static ReadOnlySpan<byte> Positive(ReadOnlySpan<byte> integer)
    {
        while (integer is [0, ..])
        {
            integer = integer[1..];
        }

        return integer;
    }
}
