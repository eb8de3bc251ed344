using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ReviewBot.Simulator.State;

namespace ReviewBot.Simulator.Llm;

// The three providers' completion and list-models endpoints, answering in each one's real response
// shape. The "model" reads the diff in the prompt the way a model would (FILE headers, R<n>/L<n>
// line labels) and comments on lines it saw, plus one finding on a line that is not in the diff,
// which ReviewBot must move into the review body (anchoring). Mounted under /openai/v1,
// /anthropic and /gemini so one simulator serves all three base URLs.
public static partial class LlmApi
{
    // A key containing this text is rejected, so key validation can be shown failing.
    public const string RejectedKeyMarker = "invalid";

    public static void Map(WebApplication app, SimulatorState state)
    {
        // https://platform.openai.com/docs/api-reference/models/list
        app.MapGet("/openai/v1/models", (HttpContext http) => OpenAiKey(http) is { } key && Valid(key)
            ? Results.Json(new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(
                    new JsonObject { ["id"] = "gpt-4o-mini", ["object"] = "model", ["created"] = 1721172741, ["owned_by"] = "system" },
                    new JsonObject { ["id"] = "gpt-4.1", ["object"] = "model", ["created"] = 1744316542, ["owned_by"] = "system" }),
            })
            : OpenAiError(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided."));

        // https://platform.openai.com/docs/api-reference/chat/create (Structured Outputs: the JSON is
        // the string in choices[0].message.content).
        app.MapPost("/openai/v1/chat/completions", async (HttpContext http) =>
        {
            if (OpenAiKey(http) is not { } key || !Valid(key))
            {
                return OpenAiError(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.");
            }

            var body = await JsonNode.ParseAsync(http.Request.Body);
            var prompt = string.Concat((body?["messages"] as JsonArray ?? []).Select(m => (string?)m?["content"]));
            var review = Answer(prompt);
            var model = (string?)body?["model"] ?? "gpt-4o-mini";
            return Results.Json(new JsonObject
            {
                ["id"] = "chatcmpl-sim" + Guid.NewGuid().ToString("N")[..12],
                ["object"] = "chat.completion",
                ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = review.ToJsonString(), ["refusal"] = null, ["annotations"] = new JsonArray() },
                    ["logprobs"] = null,
                    ["finish_reason"] = "stop",
                }),
                ["usage"] = Usage(prompt, review, "prompt_tokens", "completion_tokens", "total_tokens"),
                ["service_tier"] = "default",
                ["system_fingerprint"] = "fp_simulator",
            });
        });

        // https://docs.anthropic.com/en/api/models-list
        app.MapGet("/anthropic/v1/models", (HttpContext http) => AnthropicKey(http) is { } key && Valid(key)
            ? Results.Json(new JsonObject
            {
                ["data"] = new JsonArray(new JsonObject { ["type"] = "model", ["id"] = "claude-sonnet-4-5", ["display_name"] = "Claude Sonnet 4.5", ["created_at"] = "2025-09-29T00:00:00Z" }),
                ["has_more"] = false,
                ["first_id"] = "claude-sonnet-4-5",
                ["last_id"] = "claude-sonnet-4-5",
            })
            : AnthropicError(401, "authentication_error", "invalid x-api-key"));

        // https://docs.anthropic.com/en/api/messages: forced tool use answers with one tool_use block
        // whose `input` is the object, stop_reason "tool_use".
        app.MapPost("/anthropic/v1/messages", async (HttpContext http) =>
        {
            if (AnthropicKey(http) is not { } key || !Valid(key))
            {
                return AnthropicError(401, "authentication_error", "invalid x-api-key");
            }

            var body = await JsonNode.ParseAsync(http.Request.Body);
            var prompt = (string?)body?["system"] + string.Concat((body?["messages"] as JsonArray ?? []).Select(m => m?["content"] is JsonValue v ? (string?)v : m?["content"]?.ToJsonString()));
            var tool = (string?)body?["tool_choice"]?["name"] ?? (string?)body?["tools"]?[0]?["name"] ?? "pull_request_review";
            var review = Answer(prompt);
            return Results.Json(new JsonObject
            {
                ["id"] = "msg_sim" + Guid.NewGuid().ToString("N")[..20],
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = (string?)body?["model"] ?? "claude-sonnet-4-5",
                ["content"] = new JsonArray(new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = "toolu_sim" + Guid.NewGuid().ToString("N")[..16],
                    ["name"] = tool,
                    ["input"] = review,
                }),
                ["stop_reason"] = "tool_use",
                ["stop_sequence"] = null,
                ["usage"] = Usage(prompt, review, "input_tokens", "output_tokens", null),
            });
        });

        // https://ai.google.dev/api/models#method:-models.list
        app.MapGet("/gemini/v1beta/models", (HttpContext http) => GeminiKey(http) is { } key && Valid(key)
            ? Results.Json(new JsonObject
            {
                ["models"] = new JsonArray(new JsonObject
                {
                    ["name"] = "models/gemini-2.5-flash",
                    ["displayName"] = "Gemini 2.5 Flash",
                    ["supportedGenerationMethods"] = new JsonArray("generateContent", "countTokens"),
                }),
                ["nextPageToken"] = "sim-next",
            })
            : GeminiError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"));

        // https://ai.google.dev/api/generate-content: the JSON is candidates[0].content.parts[0].text.
        app.MapPost("/gemini/v1beta/models/{modelAction}", async (HttpContext http, string modelAction) =>
        {
            if (!modelAction.EndsWith(":generateContent", StringComparison.Ordinal))
            {
                return GeminiError(404, "NOT_FOUND", "Method not found.", null);
            }

            if (GeminiKey(http) is not { } key || !Valid(key))
            {
                return GeminiError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID");
            }

            var body = await JsonNode.ParseAsync(http.Request.Body);
            var prompt = string.Concat((body?["contents"] as JsonArray ?? []).SelectMany(c => c?["parts"] as JsonArray ?? []).Select(p => (string?)p?["text"]));
            var review = Answer(prompt);
            var usage = Usage(prompt, review, "promptTokenCount", "candidatesTokenCount", "totalTokenCount");
            return Results.Json(new JsonObject
            {
                ["candidates"] = new JsonArray(new JsonObject
                {
                    ["content"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = review.ToJsonString() }), ["role"] = "model" },
                    ["finishReason"] = "STOP",
                    ["index"] = 0,
                }),
                ["usageMetadata"] = usage,
                ["modelVersion"] = modelAction[..modelAction.IndexOf(':', StringComparison.Ordinal)],
                ["responseId"] = Guid.NewGuid().ToString("N")[..22],
            });
        });
    }

    // The credential of an LLM request, for Retry-After bookkeeping and per-key concurrency.
    public static string? Credential(HttpContext http) =>
        http.Request.Path.StartsWithSegments("/openai") ? OpenAiKey(http)
        : http.Request.Path.StartsWithSegments("/anthropic") ? AnthropicKey(http)
        : GeminiKey(http);

    // Which completion this is, so a retry of the same one can be told from another: the body
    // without the lines carrying ReviewBot's per-prompt random nonce (the untrusted-data markers).
    public static async Task<string> RequestIdentityAsync(HttpContext http)
    {
        http.Request.EnableBuffering();
        using var reader = new StreamReader(http.Request.Body, leaveOpen: true);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        http.Request.Body.Position = 0;
        var stable = UntrustedMarker().Replace(body, "<<<marker>>>");
        return http.Request.Path.Value + " " + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(stable)));
    }

    [GeneratedRegex(@"<<<(?:END )?UNTRUSTED[^>]*>>>")]
    private static partial Regex UntrustedMarker();

    public static bool IsCompletion(HttpContext http) => HttpMethods.IsPost(http.Request.Method);

    // Rate-limit and server errors in each provider's shape.
    public static IResult Fault(HttpContext http, int status, TimeSpan? retryAfter)
    {
        if (retryAfter is { } wait)
        {
            var seconds = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            http.Response.Headers.RetryAfter = seconds;
            if (http.Request.Path.StartsWithSegments("/openai"))
            {
                http.Response.Headers["retry-after-ms"] = ((long)Math.Ceiling(wait.TotalSeconds) * 1000).ToString(CultureInfo.InvariantCulture);
            }
        }

        var retryDelay = retryAfter is { } w ? ((int)Math.Ceiling(w.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s" : null;
        return (http.Request.Path.StartsWithSegments("/openai"), http.Request.Path.StartsWithSegments("/anthropic"), status) switch
        {
            (true, _, 429) => OpenAiError(429, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
            (true, _, _) => OpenAiError(status, "server_error", null, "The server had an error while processing your request. Sorry about that!"),
            (_, true, 429) => AnthropicError(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
            (_, true, _) => AnthropicError(status == 500 ? 529 : status, status == 500 ? "overloaded_error" : "api_error", "Overloaded"),
            (_, _, 429) => GeminiError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", null, retryDelay),
            _ => GeminiError(status == 500 ? 503 : status, "UNAVAILABLE", "The model is overloaded. Please try again later.", null),
        };
    }

    // The review object of CONTRACT §8, built from the lines the prompt shows.
    public static JsonObject Answer(string prompt)
    {
        var comments = new JsonArray();
        string? firstPath = null;
        var maxLine = 0;
        foreach (var file in ReadFiles(prompt))
        {
            firstPath ??= file.Path;
            maxLine = Math.Max(maxLine, file.Lines.Where(l => l.Side == "RIGHT").Select(l => l.Number).DefaultIfEmpty(0).Max());
            var added = file.Lines.FirstOrDefault(l => l.Added && l.Side == "RIGHT");
            if (added is not null)
            {
                comments.Add(Comment(file.Path, added.Number, null, "RIGHT", $"Check this added line: `{Trim(added.Text)}`.", null));
            }

            // A two-line range inside one hunk, with a suggestion.
            var pair = file.Lines.Zip(file.Lines.Skip(1)).FirstOrDefault(p => p.First.Side == "RIGHT" && p.Second.Side == "RIGHT" && p.First.Hunk == p.Second.Hunk && p.Second.Number == p.First.Number + 1 && p.Second.Added);
            if (pair != default)
            {
                comments.Add(Comment(file.Path, pair.Second.Number, pair.First.Number, "RIGHT", "These two lines could be simpler.", pair.First.Text + "\n" + pair.Second.Text));
            }

            var removed = file.Lines.FirstOrDefault(l => l.Side == "LEFT");
            if (removed is not null)
            {
                comments.Add(Comment(file.Path, removed.Number, null, "LEFT", "Was removing this intended?", null));
            }

            if (comments.Count >= 8)
            {
                break;
            }
        }

        if (firstPath is not null)
        {
            // Not a line of the diff: ReviewBot must not send this to GitHub as an inline comment.
            comments.Add(Comment(firstPath, maxLine + 500, null, "RIGHT", "A finding about code outside this diff.", null));
        }

        return new JsonObject
        {
            ["summary"] = firstPath is null ? "Nothing to review." : $"The simulator reviewed {comments.Count} place(s) in this change.",
            ["comments"] = comments,
        };
    }

    private sealed record PromptLine(string Side, int Number, bool Added, string Text, int Hunk);

    private sealed record PromptFile(string Path, List<PromptLine> Lines);

    private static List<PromptFile> ReadFiles(string prompt)
    {
        var files = new List<PromptFile>();
        PromptFile? current = null;
        var hunk = 0;
        foreach (var line in prompt.Split('\n'))
        {
            var header = FileHeader().Match(line);
            if (header.Success)
            {
                current = new PromptFile(header.Groups[1].Value, []);
                files.Add(current);
                continue;
            }

            if (line.StartsWith("@@", StringComparison.Ordinal))
            {
                hunk++;
                continue;
            }

            var numbered = NumberedLine().Match(line);
            if (current is not null && numbered.Success)
            {
                current.Lines.Add(new PromptLine(numbered.Groups[1].Value == "R" ? "RIGHT" : "LEFT",
                    int.Parse(numbered.Groups[2].Value, CultureInfo.InvariantCulture), numbered.Groups[3].Value == "+", numbered.Groups[4].Value, hunk));
            }
        }

        return files;
    }

    private static JsonObject Comment(string path, int line, int? startLine, string side, string body, string? suggestion) => new()
    {
        ["path"] = path,
        ["line"] = line,
        ["startLine"] = startLine,
        ["side"] = side,
        ["body"] = body,
        ["suggestion"] = suggestion,
    };

    private static JsonObject Usage(string prompt, JsonObject review, string input, string output, string? total)
    {
        var inTokens = Math.Max(1, prompt.Length / 4);
        var outTokens = Math.Max(1, review.ToJsonString().Length / 4);
        var usage = new JsonObject { [input] = inTokens, [output] = outTokens };
        if (total is not null)
        {
            usage[total] = inTokens + outTokens;
        }

        return usage;
    }

    private static string Trim(string text) => text.Trim().Length > 60 ? text.Trim()[..60] : text.Trim();

    private static bool Valid(string key) => key.Length > 0 && !key.Contains(RejectedKeyMarker, StringComparison.Ordinal);

    private static string? OpenAiKey(HttpContext http) => ReviewBot.Simulator.GitHub.GitHubApi.Bearer(http);

    private static string? AnthropicKey(HttpContext http) => http.Request.Headers["x-api-key"].FirstOrDefault();

    private static string? GeminiKey(HttpContext http) => http.Request.Headers["x-goog-api-key"].FirstOrDefault() ?? http.Request.Query["key"].FirstOrDefault();

    // https://platform.openai.com/docs/guides/error-codes
    private static IResult OpenAiError(int status, string type, string? code, string message) => Results.Json(new JsonObject
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = code },
    }, statusCode: status);

    // https://docs.anthropic.com/en/api/errors
    private static IResult AnthropicError(int status, string type, string message) => Results.Json(new JsonObject
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
    }, statusCode: status);

    // google.rpc.Status (https://ai.google.dev/gemini-api/docs/troubleshooting).
    private static IResult GeminiError(int status, string code, string message, string? reason, string? retryDelay = null)
    {
        var details = new JsonArray();
        if (reason is not null)
        {
            details.Add(new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo", ["reason"] = reason, ["domain"] = "googleapis.com" });
        }

        if (retryDelay is not null)
        {
            details.Add(new JsonObject { ["@type"] = "type.googleapis.com/google.rpc.RetryInfo", ["retryDelay"] = retryDelay });
        }

        return Results.Json(new JsonObject
        {
            ["error"] = new JsonObject { ["code"] = status, ["message"] = message, ["status"] = code, ["details"] = details },
        }, statusCode: status);
    }

    [GeneratedRegex(@"^FILE (.+) \((?:added|removed|modified|renamed from .*)\)$")]
    private static partial Regex FileHeader();

    [GeneratedRegex(@"^([RL])(\d+) ([+\- ]) (.*)$")]
    private static partial Regex NumberedLine();
}
