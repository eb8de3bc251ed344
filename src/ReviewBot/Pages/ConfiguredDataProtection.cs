using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;

namespace ReviewBot.Pages;

// The IDataProtectionProvider behind the settings page's cookie authentication and antiforgery.
// The framework's default provider keeps a random key ring in files (~/.aspnet/DataProtection-Keys);
// ReviewBot replicas share nothing but Postgres and their environment, so with the default every
// replica and every restart would have its own ring and reject the others' cookies. Instead the keys
// come from configuration: AES-256-GCM (the framework's AesGcm, NIST SP 800-38D) with a key per
// purpose chain derived by HKDF-SHA256 (RFC 5869) from ENCRYPTION_KEY, so every replica opens every
// other's cookies, and ENCRYPTION_KEY_OLD keeps sessions working across a key rotation.
//
// Payload: version byte | 12-byte random nonce | ciphertext | 16-byte tag.
internal sealed class ConfiguredDataProtectionProvider(byte[] currentKey, IReadOnlyList<byte[]> oldKeys) : IDataProtectionProvider
{
    public IDataProtector CreateProtector(string purpose) => new Protector([currentKey, .. oldKeys], [purpose]);

    private sealed class Protector : IDataProtector
    {
        private const byte Version = 1;
        private const int NonceSize = 12;
        private const int TagSize = 16;

        private readonly byte[][] _masterKeys;
        private readonly string[] _purposes;
        private readonly byte[][] _keys;

        public Protector(byte[][] masterKeys, string[] purposes)
        {
            _masterKeys = masterKeys;
            _purposes = purposes;
            // The purpose chain is the HKDF info: a protector for one purpose cannot open another's payloads.
            var info = Encoding.UTF8.GetBytes("reviewbot:data-protection:" + string.Join('\0', purposes));
            _keys = masterKeys.Select(k => HKDF.DeriveKey(HashAlgorithmName.SHA256, k, 32, salt: [], info)).ToArray();
        }

        public IDataProtector CreateProtector(string purpose) => new Protector(_masterKeys, [.. _purposes, purpose]);

        public byte[] Protect(byte[] plaintext)
        {
            var payload = new byte[1 + NonceSize + plaintext.Length + TagSize];
            payload[0] = Version;
            var nonce = payload.AsSpan(1, NonceSize);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(_keys[0], TagSize);
            aes.Encrypt(nonce, plaintext, payload.AsSpan(1 + NonceSize, plaintext.Length), payload.AsSpan(1 + NonceSize + plaintext.Length, TagSize));
            return payload;
        }

        // IDataProtector's contract: a payload that does not open throws CryptographicException.
        public byte[] Unprotect(byte[] protectedData)
        {
            if (protectedData.Length < 1 + NonceSize + TagSize || protectedData[0] != Version)
            {
                throw new CryptographicException("The payload was not protected by this server.");
            }

            var length = protectedData.Length - 1 - NonceSize - TagSize;
            var plaintext = new byte[length];
            foreach (var key in _keys)
            {
                try
                {
                    using var aes = new AesGcm(key, TagSize);
                    aes.Decrypt(
                        protectedData.AsSpan(1, NonceSize),
                        protectedData.AsSpan(1 + NonceSize, length),
                        protectedData.AsSpan(1 + NonceSize + length, TagSize),
                        plaintext);
                    return plaintext;
                }
                catch (AuthenticationTagMismatchException)
                {
                    // Sealed with an older ENCRYPTION_KEY, or not ours: try the next key.
                }
            }

            throw new CryptographicException("The payload could not be opened with ENCRYPTION_KEY or ENCRYPTION_KEY_OLD.");
        }
    }
}
