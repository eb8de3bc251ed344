using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace ReviewBot.IntegrationTests.Infrastructure;

// An OpenAI-compatible server on WireMock answering chat completions in the recorded response shape
// (../shared/fixtures/llm/openai/chat-completion.structured-output-json-schema.recorded.json) with a
// review of one line, and the models list for key validation. It can be slowed down to hold reviews
// in flight, and it tracks how many requests run at once.
internal sealed class FakeOpenAi : IDisposable
{
    // A chat completion in OpenAI's response shape whose message is the review JSON.
    public static JsonObject Completion(JsonObject review) => new()
    {
        ["id"] = "chatcmpl-fake",
        ["object"] = "chat.completion",
        ["created"] = 1727346142,
        ["model"] = "gpt-4o-mini-2024-07-18",
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = review.ToJsonString(), ["refusal"] = null },
            ["logprobs"] = null,
            ["finish_reason"] = "stop",
        }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 120, ["completion_tokens"] = 30, ["total_tokens"] = 150 },
        ["system_fingerprint"] = "fp_fake",
    };

    private readonly CancellationTokenSource _stopped = new();
    private int _inFlight;
    private int _maxInFlight;

    public FakeOpenAi(string path = "src/cli.rs", int line = 1)
    {
        Server = WireMockServer.Start();
        Server.Given(Request.Create().WithPath("/v1/models").UsingGet())
            .RespondWith(Response.Create().WithCallback(_ => FakeGitHub.Json(200, new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(new JsonObject { ["id"] = "gpt-4o-mini", ["object"] = "model", ["created"] = 1686935002, ["owned_by"] = "openai" }),
            })));
        Server.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithCallback(async request =>
            {
                Requests.Enqueue(DateTimeOffset.UtcNow);
                var now = Interlocked.Increment(ref _inFlight);
                int seen;
                while ((seen = Volatile.Read(ref _maxInFlight)) < now && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
                {
                }

                try
                {
                    try
                    {
                        await Task.Delay(Latency, _stopped.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return FakeGitHub.Json(503, new JsonObject { ["error"] = new JsonObject { ["message"] = "stopping" } });
                    }

                    if (RejectKey)
                    {
                        // OpenAI's answer to a revoked key (ErrorResponse in the OpenAPI description).
                        return FakeGitHub.Json(401, new JsonObject
                        {
                            ["error"] = new JsonObject { ["message"] = "Incorrect API key provided: sk-test-***cdef.", ["type"] = "invalid_request_error", ["param"] = null, ["code"] = "invalid_api_key" },
                        });
                    }

                    var review = new JsonObject
                    {
                        ["summary"] = "One thing to look at.",
                        ["comments"] = new JsonArray(new JsonObject
                        {
                            ["path"] = CommentPath,
                            ["line"] = CommentLine,
                            ["startLine"] = null,
                            ["side"] = "RIGHT",
                            ["body"] = "Consider a clearer name here.",
                            ["suggestion"] = null,
                        }),
                    };
                    return FakeGitHub.Json(200, Completion(review));
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }));
        CommentPath = path;
        CommentLine = line;
    }

    public WireMockServer Server { get; }

    public Uri BaseUrl => new(Server.Url! + "/v1/");

    public string CommentPath { get; set; }

    public int CommentLine { get; set; }

    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    public bool RejectKey { get; set; }

    public ConcurrentQueue<DateTimeOffset> Requests { get; } = new();

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public void Dispose()
    {
        // Requests held by Latency (for a process that was killed meanwhile) end now, not after it.
        _stopped.Cancel();
        Server.Stop();
    }
}
