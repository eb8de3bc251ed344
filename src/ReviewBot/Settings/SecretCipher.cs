using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using ReviewBot.Configuration;

namespace ReviewBot.Settings;

internal enum SecretOpenStatus
{
    Opened,
    UnknownKey,   // sealed with a key that is neither ENCRYPTION_KEY nor in ENCRYPTION_KEY_OLD
    Damaged,      // authentication failed: tampered, truncated, or copied from another installation
    Malformed,    // not a value this code ever wrote
}

internal readonly record struct SecretOpenResult(SecretOpenStatus Status, string? Plaintext, string? KeyId)
{
    public bool IsCurrentKey { get; init; }
}

// Stored API keys at rest: AES-256-GCM (NIST SP 800-38D) with a fresh random 96-bit nonce per value,
// so the same key sealed twice never looks the same and nonces never repeat under one key in practice
// (random 96-bit nonces stay within SP 800-38D §8.3's 2^32-invocations bound for far more rows than
// ReviewBot will ever store). The installation id is the associated data: a value copied into another
// installation's row fails authentication instead of handing that tenant someone else's key.
//
// Stored form: "v1.<keyId>.<base64(nonce | ciphertext | tag)>", keyId = first 8 hex characters of
// SHA-256(key). The key id lets decryption pick the right key after rotation and lets rotate-keys
// skip rows already sealed with ENCRYPTION_KEY. It reveals nothing usable about a 256-bit key.
internal sealed class SecretCipher
{
    private const string Version = "v1";
    private const int NonceSize = 12;   // AesGcm.NonceByteSizes: 12 is the only size every platform supports
    private const int TagSize = 16;

    private readonly byte[] _currentKey;
    private readonly IReadOnlyList<(string KeyId, byte[] Key)> _keys;

    public SecretCipher(ReviewBotOptions options)
        : this(options.EncryptionKey, options.EncryptionKeysOld)
    {
    }

    public SecretCipher(byte[] currentKey, IReadOnlyList<byte[]> oldKeys)
    {
        if (currentKey.Length != 32 || oldKeys.Any(k => k.Length != 32))
        {
            throw new ArgumentException("Encryption keys must be 32 bytes (AES-256).");
        }

        _currentKey = currentKey;
        CurrentKeyId = KeyIdOf(currentKey);
        _keys = [(CurrentKeyId, currentKey), .. oldKeys.Select(k => (KeyIdOf(k), k))];
    }

    public string CurrentKeyId { get; }

    // The prefix of every value sealed with the current key (rotate-keys skips those rows).
    public string CurrentPrefix => $"{Version}.{CurrentKeyId}.";

    public static string KeyIdOf(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key))[..8];

    public string Seal(long installationId, string plaintext)
    {
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var payload = new byte[NonceSize + plain.Length + TagSize];
        var nonce = payload.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(_currentKey, TagSize))
        {
            aes.Encrypt(nonce, plain, payload.AsSpan(NonceSize, plain.Length), payload.AsSpan(NonceSize + plain.Length, TagSize), AssociatedData(installationId));
        }

        CryptographicOperations.ZeroMemory(plain);
        return $"{CurrentPrefix}{Convert.ToBase64String(payload)}";
    }

    public SecretOpenResult Open(long installationId, string sealedValue)
    {
        var parts = sealedValue.Split('.');
        if (parts.Length != 3 || parts[0] != Version || parts[1].Length != 8)
        {
            return new SecretOpenResult(SecretOpenStatus.Malformed, null, null);
        }

        var keyId = parts[1];
        byte[] payload;
        try
        {
            payload = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            return new SecretOpenResult(SecretOpenStatus.Malformed, null, keyId);
        }

        if (payload.Length < NonceSize + TagSize)
        {
            return new SecretOpenResult(SecretOpenStatus.Malformed, null, keyId);
        }

        var candidates = _keys.Where(k => k.KeyId == keyId).ToList();
        if (candidates.Count == 0)
        {
            return new SecretOpenResult(SecretOpenStatus.UnknownKey, null, keyId);
        }

        var cipherLength = payload.Length - NonceSize - TagSize;
        var plain = new byte[cipherLength];
        foreach (var (_, key) in candidates)
        {
            try
            {
                using var aes = new AesGcm(key, TagSize);
                aes.Decrypt(
                    payload.AsSpan(0, NonceSize),
                    payload.AsSpan(NonceSize, cipherLength),
                    payload.AsSpan(NonceSize + cipherLength, TagSize),
                    plain,
                    AssociatedData(installationId));
                var text = Encoding.UTF8.GetString(plain);
                CryptographicOperations.ZeroMemory(plain);
                return new SecretOpenResult(SecretOpenStatus.Opened, text, keyId) { IsCurrentKey = ReferenceEquals(key, _currentKey) };
            }
            catch (AuthenticationTagMismatchException)
            {
                // Try the next key with this id (two different keys sharing 32 bits of hash is unlikely, not impossible).
            }
        }

        return new SecretOpenResult(SecretOpenStatus.Damaged, null, keyId);
    }

    // What the settings API and the check run say when a stored key cannot be used. Never includes the value.
    public static string? Describe(SecretOpenResult result) => result.Status switch
    {
        SecretOpenStatus.Opened => null,
        SecretOpenStatus.UnknownKey =>
            $"The stored API key was encrypted with a key (id {result.KeyId}) that is neither ENCRYPTION_KEY nor in ENCRYPTION_KEY_OLD. "
            + "Add that key to ENCRYPTION_KEY_OLD, or enter the API key again in the ReviewBot settings.",
        SecretOpenStatus.Damaged =>
            $"The stored API key cannot be decrypted with the configured ENCRYPTION_KEY (key id {result.KeyId}): the stored value is damaged "
            + "or belongs to another installation. Enter the API key again in the ReviewBot settings.",
        _ => "The stored API key is not in a format ReviewBot can read. Enter the API key again in the ReviewBot settings.",
    };

    // Purpose prefix plus the id: the associated data binds the value to this column and this installation.
    private static byte[] AssociatedData(long installationId)
    {
        var prefix = "reviewbot:installation_settings.api_key:"u8;
        var data = new byte[prefix.Length + sizeof(long)];
        prefix.CopyTo(data);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(prefix.Length), installationId);
        return data;
    }
}
