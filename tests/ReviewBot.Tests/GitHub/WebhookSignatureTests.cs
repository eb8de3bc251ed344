using System.Text;
using ReviewBot.GitHub;

namespace ReviewBot.Tests.GitHub;

public sealed class WebhookSignatureTests
{
    // The test values from "Validating webhook deliveries" → "Testing the webhook payload validation"
    // (docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
    private const string DocSecret = "It's a Secret to Everybody";
    private const string DocPayload = "Hello, World!";
    private const string DocSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    private static readonly byte[] Secret = Encoding.UTF8.GetBytes(DocSecret);

    [Fact]
    public void Verify_accepts_GitHubs_documented_test_vector()
    {
        Assert.True(WebhookSignature.Verify(Secret, Encoding.UTF8.GetBytes(DocPayload), DocSignature));
        Assert.Equal(DocSignature, WebhookSignature.Compute(DocSecret, Encoding.UTF8.GetBytes(DocPayload)));
    }

    [Fact]
    public void Verify_rejects_signature_of_different_body()
    {
        Assert.False(WebhookSignature.Verify(Secret, Encoding.UTF8.GetBytes("Hello, World?"), DocSignature));
    }

    [Fact]
    public void Verify_rejects_signature_made_with_another_secret()
    {
        var other = WebhookSignature.Compute("another secret", Encoding.UTF8.GetBytes(DocPayload));
        Assert.False(WebhookSignature.Verify(Secret, Encoding.UTF8.GetBytes(DocPayload), other));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    [InlineData("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1")]
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17a")]
    [InlineData("sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    [InlineData("SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    public void Verify_rejects_malformed_headers(string? header)
    {
        Assert.False(WebhookSignature.Verify(Secret, Encoding.UTF8.GetBytes(DocPayload), header));
    }

    [Fact]
    public void Verify_accepts_uppercase_hex_digits()
    {
        Assert.True(WebhookSignature.Verify(Secret, Encoding.UTF8.GetBytes(DocPayload), "sha256=" + DocSignature["sha256=".Length..].ToUpperInvariant()));
    }
}
