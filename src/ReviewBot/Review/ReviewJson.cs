using System.Text.Json;
using System.Text.Json.Serialization;

namespace ReviewBot.Review;

// What the model returns (CONTRACT §8).
internal sealed record ModelReview(string? Summary, List<ModelComment>? Comments);

internal sealed record ModelComment(string? Path, int Line, int? StartLine, string? Side, string? Body, string? Suggestion);

// CONTRACT §6: the `review --dry-run` output. Nulls are written (previousPath, skipped).
internal sealed record DryRunOutput(IReadOnlyList<DryRunFile> Files, IReadOnlyList<DryRunChunk> Chunks);

internal sealed record DryRunFile(string Path, string? PreviousPath, string Status, string? Skipped, IReadOnlyList<DryRunLine> Lines);

internal sealed record DryRunLine(string Side, int Line, string Text);

internal sealed record DryRunChunk(IReadOnlyList<string> Paths, int EstimatedTokens);

// `review --provider` output: the review as it would be posted (GitHub create-review body shape).
internal sealed record ReviewCommandOutput(
    string Kind,
    string Event,
    string Body,
    IReadOnlyList<ReviewCommandComment> Comments,
    bool Partial,
    int InputTokens,
    int OutputTokens,
    string? Failure);

internal sealed record ReviewCommandComment(
    string Path,
    int Line,
    string Side,
    [property: JsonPropertyName("start_line")] int? StartLine,
    [property: JsonPropertyName("start_side")] string? StartSide,
    string Body);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = true)]
[JsonSerializable(typeof(ModelReview))]
[JsonSerializable(typeof(DryRunOutput))]
[JsonSerializable(typeof(ReviewCommandOutput))]
internal sealed partial class ReviewJsonContext : JsonSerializerContext;
