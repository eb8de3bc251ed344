using System.Formats.Asn1;
using System.Numerics;
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
// key is imported when the first App JWT is signed (GitHubAppJwt), by which time the web server is
// listening. What is accepted: exactly one key in the text (as ImportFromPem requires), PKCS#1
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

        var algorithm = info.ReadSequence();
        if (algorithm.ReadObjectIdentifier() != RsaEncryptionOid)
        {
            return -1;
        }

        return Pkcs1ModulusBits(info.ReadOctetString());
    }

    // RSAPrivateKey (RFC 8017 A.1.2): SEQUENCE { version, modulus, publicExponent, privateExponent,
    // prime1, prime2, exponent1, exponent2, coefficient, otherPrimeInfos OPTIONAL }.
    private static int Pkcs1ModulusBits(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.BER);
        var key = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        if (!key.TryReadInt32(out var version) || version is not (0 or 1))
        {
            return -1;
        }

        var modulus = key.ReadIntegerBytes().Span;
        for (var i = 0; i < 7; i++)
        {
            if (key.ReadIntegerBytes().Span is [0] or [])
            {
                return -1;
            }
        }

        // Two's complement: a modulus is positive, and its leading 0x00 (there when the top bit is
        // set) is not part of the number.
        if (modulus is [>= 0x80, ..])
        {
            return -1;
        }

        while (modulus is [0, ..])
        {
            modulus = modulus[1..];
        }

        if (modulus.IsEmpty)
        {
            return -1;
        }

        return ((modulus.Length - 1) * 8) + 32 - BitOperations.LeadingZeroCount((uint)modulus[0]);
    }
}
