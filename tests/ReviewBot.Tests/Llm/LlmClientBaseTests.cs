using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ReviewBot.Llm;
using ReviewBot.Review;

namespace ReviewBot.Tests.Llm;

public sealed class LlmClientBaseTests
{
    [Fact]
    public void RetryAfter_prefers_retry_after_ms_over_retry_after()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("retry-after-ms", "1500");
        response.Headers.TryAddWithoutValidation("retry-after", "20");

        Assert.Equal(TimeSpan.FromMilliseconds(1500), LlmClientBase.RetryAfter(response));
    }

    [Fact]
    public void RetryAfter_reads_seconds_and_http_dates()
    {
        using var seconds = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        seconds.Headers.TryAddWithoutValidation("retry-after", "20");
        Assert.Equal(TimeSpan.FromSeconds(20), LlmClientBase.RetryAfter(seconds));

        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        using var date = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        date.Headers.TryAddWithoutValidation("retry-after", "Thu, 01 Jan 2026 12:00:45 GMT");
        Assert.Equal(TimeSpan.FromSeconds(45), LlmClientBase.RetryAfter(date, time));

        using var none = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        Assert.Null(LlmClientBase.RetryAfter(none));
    }

    [Fact]
    public void GeminiSchema_converts_nullable_types_and_drops_additional_properties()
    {
        var schema = GeminiSchema.FromJsonSchema(ReviewPrompt.OutputSchema);

        Assert.Equal("OBJECT", schema.GetProperty("type").GetString());
        Assert.False(schema.TryGetProperty("additionalProperties", out _));
        var item = schema.GetProperty("properties").GetProperty("comments").GetProperty("items");
        Assert.False(item.TryGetProperty("additionalProperties", out _));
        var startLine = item.GetProperty("properties").GetProperty("startLine");
        Assert.Equal("INTEGER", startLine.GetProperty("type").GetString());
        Assert.True(startLine.GetProperty("nullable").GetBoolean());
        Assert.Equal(["path", "line", "startLine", "side", "body", "suggestion"], item.GetProperty("propertyOrdering").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["RIGHT", "LEFT"], item.GetProperty("properties").GetProperty("side").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Gemini_RetryDelay_reads_protobuf_duration_from_RetryInfo()
    {
        var error = JsonSerializer.Deserialize(
            """{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37.5s"}]}}""",
            LlmJsonContext.Default.GeminiErrorResponse)!.Error;

        Assert.Equal(TimeSpan.FromSeconds(37.5), GeminiClient.RetryDelay(error));
    }
}
