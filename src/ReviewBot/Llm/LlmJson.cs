using System.Text.Json;
using System.Text.Json.Serialization;

namespace ReviewBot.Llm;

// Wire types of the three providers, only the members ReviewBot sends or reads.

// OpenAI Chat Completions: https://platform.openai.com/docs/api-reference/chat/create
internal sealed record OpenAiChatRequest(
    string Model,
    IReadOnlyList<OpenAiMessage> Messages,
    [property: JsonPropertyName("response_format")] OpenAiResponseFormat ResponseFormat,
    [property: JsonPropertyName("max_completion_tokens")] int? MaxCompletionTokens);

internal sealed record OpenAiMessage(string Role, string Content);

internal sealed record OpenAiResponseFormat(string Type, [property: JsonPropertyName("json_schema")] OpenAiJsonSchema JsonSchema);

internal sealed record OpenAiJsonSchema(string Name, bool Strict, JsonElement Schema);

internal sealed record OpenAiChatResponse(List<OpenAiChoice>? Choices, OpenAiUsage? Usage);

internal sealed record OpenAiChoice(OpenAiResponseMessage? Message, [property: JsonPropertyName("finish_reason")] string? FinishReason);

internal sealed record OpenAiResponseMessage(string? Content, string? Refusal);

internal sealed record OpenAiUsage([property: JsonPropertyName("prompt_tokens")] int PromptTokens, [property: JsonPropertyName("completion_tokens")] int CompletionTokens);

internal sealed record OpenAiErrorResponse(OpenAiError? Error);

internal sealed record OpenAiError(string? Message, string? Type, JsonElement? Code);

// Anthropic Messages: https://docs.anthropic.com/en/api/messages
internal sealed record AnthropicRequest(
    string Model,
    [property: JsonPropertyName("max_tokens")] int MaxTokens,
    string System,
    IReadOnlyList<AnthropicMessage> Messages,
    IReadOnlyList<AnthropicTool> Tools,
    [property: JsonPropertyName("tool_choice")] AnthropicToolChoice ToolChoice);

internal sealed record AnthropicMessage(string Role, string Content);

internal sealed record AnthropicTool(string Name, string Description, [property: JsonPropertyName("input_schema")] JsonElement InputSchema);

internal sealed record AnthropicToolChoice(string Type, string Name);

internal sealed record AnthropicResponse(
    List<AnthropicContentBlock>? Content,
    [property: JsonPropertyName("stop_reason")] string? StopReason,
    AnthropicUsage? Usage);

internal sealed record AnthropicContentBlock(string? Type, string? Name, string? Text, JsonElement? Input);

internal sealed record AnthropicUsage(
    [property: JsonPropertyName("input_tokens")] int InputTokens,
    [property: JsonPropertyName("output_tokens")] int OutputTokens,
    [property: JsonPropertyName("cache_creation_input_tokens")] int? CacheCreationInputTokens,
    [property: JsonPropertyName("cache_read_input_tokens")] int? CacheReadInputTokens);

internal sealed record AnthropicErrorResponse(AnthropicError? Error);

internal sealed record AnthropicError(string? Type, string? Message);

// Gemini generateContent: https://ai.google.dev/api/generate-content
internal sealed record GeminiRequest(
    GeminiContent SystemInstruction,
    IReadOnlyList<GeminiContent> Contents,
    GeminiGenerationConfig GenerationConfig);

internal sealed record GeminiContent(string? Role, IReadOnlyList<GeminiPart> Parts);

internal sealed record GeminiPart(string? Text, bool? Thought = null);

internal sealed record GeminiGenerationConfig(string ResponseMimeType, JsonElement ResponseSchema, int? MaxOutputTokens);

internal sealed record GeminiResponse(List<GeminiCandidate>? Candidates, GeminiPromptFeedback? PromptFeedback, GeminiUsage? UsageMetadata);

internal sealed record GeminiCandidate(GeminiContent? Content, string? FinishReason);

internal sealed record GeminiPromptFeedback(string? BlockReason);

internal sealed record GeminiUsage(int PromptTokenCount, int CandidatesTokenCount, int ThoughtsTokenCount);

internal sealed record GeminiErrorResponse(GeminiError? Error);

internal sealed record GeminiError(int Code, string? Message, string? Status, List<JsonElement>? Details);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenAiChatRequest))]
[JsonSerializable(typeof(OpenAiChatResponse))]
[JsonSerializable(typeof(OpenAiErrorResponse))]
[JsonSerializable(typeof(AnthropicRequest))]
[JsonSerializable(typeof(AnthropicResponse))]
[JsonSerializable(typeof(AnthropicErrorResponse))]
[JsonSerializable(typeof(GeminiRequest))]
[JsonSerializable(typeof(GeminiResponse))]
[JsonSerializable(typeof(GeminiErrorResponse))]
internal sealed partial class LlmJsonContext : JsonSerializerContext;
