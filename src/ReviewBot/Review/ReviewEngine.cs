using System.Text.Json;
using ReviewBot.Llm;

namespace ReviewBot.Review;

internal sealed record ReviewEngineOptions
{
    // Chunk requests in flight at once for one review: enough to finish a big pull request in a few
    // minutes, few enough not to trip the provider's per-key rate limit on its own.
    public int MaxParallelChunks { get; init; } = 3;

    // More than this many chunks and the remaining files are reported as over_budget.
    public int MaxChunks { get; init; } = 8;

    // Estimated input tokens per chunk; null: Chunker.DefaultChunkBudget(provider).
    public int? ChunkTokenBudget { get; init; }

    public int MaxOutputTokens { get; init; } = 8_192;

    // A 429 or 5xx on one chunk is retried here when the provider asks for a short wait, so one
    // rate-limited chunk does not throw away the others; longer waits go back to the job queue
    // with the provider's delay (ReviewResult.RetryAfter).
    public int TransientRetries { get; init; } = 2;

    // The same bound as the LLM client's wait for its key's cooldown, so a wait one chunk was told
    // to sit out is sat out by the others too, and a longer one goes back to the queue for all.
    public TimeSpan MaxTransientRetryDelay { get; init; } = LlmClientBase.MaxCooldownWait;

    // The whole review, all chunks and retries; the per-request limit is the HttpClient's timeout.
    public TimeSpan ReviewTimeout { get; init; } = TimeSpan.FromMinutes(20);
}

// A function from a pull request (files, patches, settings) and an LLM client to one review that
// GitHub will accept. It never calls GitHub and never touches the database.
internal sealed partial class ReviewEngine(ReviewEngineOptions options, ILogger<ReviewEngine> logger)
{
    private const int CheckRunSummaryLimit = 60_000;

    public Task<ReviewResult> ReviewAsync(ReviewInput input, ReviewSettings settings, ILlmClient llm, CancellationToken cancellationToken)
    {
        var unreadable = new List<SkippedFile>();
        var full = ParseFiles(input.Files, unreadable);
        var shown = input.IncrementalFiles is null ? full : ParseFiles(input.IncrementalFiles, unreadable);
        return ReviewParsedAsync(input, full, input.IncrementalFiles is null ? null : shown, unreadable, settings, llm, cancellationToken);
    }

    // The files shown to the model, the chunks and what was skipped, without calling anything:
    // what `review --dry-run` prints, and the first step of every review.
    public ReviewPlan Plan(IReadOnlyList<DiffFile> shown, ReviewSettings settings)
    {
        var filter = new FileFilter(settings.IgnorePaths);
        var reviewable = new List<DiffFile>();
        var skipped = new List<SkippedFile>();
        foreach (var file in shown)
        {
            if (filter.Check(file) is { } skip)
            {
                skipped.Add(skip);
            }
            else
            {
                reviewable.Add(file);
            }
        }

        var budget = options.ChunkTokenBudget ?? Chunker.DefaultChunkBudget(settings.Provider);
        var plan = Chunker.Plan(reviewable, budget, options.MaxChunks);
        skipped.AddRange(plan.OverBudget);
        return new ReviewPlan(plan.Chunks, skipped);
    }

    internal async Task<ReviewResult> ReviewParsedAsync(
        ReviewInput input,
        IReadOnlyList<DiffFile> full,
        IReadOnlyList<DiffFile>? incremental,
        IReadOnlyList<SkippedFile> unreadable,
        ReviewSettings settings,
        ILlmClient llm,
        CancellationToken cancellationToken)
    {
        var fullMap = ToMap(full);
        if (incremental is not null)
        {
            incremental = IncrementalScope.Restrict(incremental, fullMap);
        }

        var shown = incremental ?? full;
        var plan = Plan(shown, settings);
        var skipped = unreadable.Concat(plan.Skipped).ToList();
        if (plan.Chunks.Count == 0)
        {
            return NothingToReview(input, skipped);
        }

        using var review = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        review.CancelAfter(options.ReviewTimeout);
        using var parallel = new SemaphoreSlim(options.MaxParallelChunks);

        var outcomes = await Task.WhenAll(plan.Chunks.Select(chunk =>
            ReviewChunkAsync(input, chunk, plan.Chunks.Count, settings, llm, incremental is not null, parallel, review, cancellationToken)));

        // Shutdown or a lost lease: the caller stops; nothing of this review is reported.
        cancellationToken.ThrowIfCancellationRequested();

        var inputTokens = outcomes.Sum(o => o.InputTokens);
        var outputTokens = outcomes.Sum(o => o.OutputTokens);

        // A permanent failure (key, quota, model, request) decides the result; then a transient one,
        // which the caller retries after the longest delay any provider answer asked for.
        var failure = outcomes.Where(o => o.Review is null && o.Completion is not null)
            .OrderBy(o => Severity(o.Completion!.Outcome))
            .FirstOrDefault();
        if (failure is not null && Severity(failure.Completion!.Outcome) < Severity(LlmOutcome.Refused))
        {
            var retryAfter = outcomes.Select(o => o.Completion?.RetryAfter).Where(t => t is not null).Max();
            return Failed(failure.Completion.Outcome, failure.Completion.Message ?? "The LLM request failed.", retryAfter, inputTokens, outputTokens, skipped);
        }

        if (outcomes.Any(o => o.Review is null && o.Completion is null))
        {
            Log.ReviewTimedOut(logger, input.RepoFullName, input.Number, options.ReviewTimeout.TotalMinutes);
            return Failed(LlmOutcome.Transient, $"The review took longer than {options.ReviewTimeout.TotalMinutes:0} minutes and was stopped; it will be retried.", null, inputTokens, outputTokens, skipped);
        }

        var succeeded = outcomes.Where(o => o.Review is not null).ToList();
        if (succeeded.Count == 0)
        {
            var last = failure!.Completion!;
            return Failed(last.Outcome, $"{last.Message} (after one retry)", null, inputTokens, outputTokens, skipped);
        }

        foreach (var failed in outcomes.Where(o => o.Review is null))
        {
            foreach (var path in failed.Chunk.Paths)
            {
                skipped.Add(new SkippedFile(path, SkipReason.ReviewFailed, "the model gave no usable answer for this part: " + failed.Completion?.Message));
            }
        }

        var anchored = Anchoring.Anchor(
            succeeded.SelectMany(o => o.Review!.Comments ?? []).Select(NeutralizeComment),
            fullMap,
            incremental is null ? null : ToMap(incremental));

        // Only model text can carry "<!--" into the body (summaries, notes and their suggestions).
        var body = Neutralize(ReviewBody.Compose(input, succeeded.Select(o => (o.Chunk, o.Review!.Summary ?? string.Empty)).ToList(), plan.Chunks.Count, anchored.Unanchored, skipped));
        var summary = ReviewBody.CheckRunSummary(input, succeeded.SelectMany(o => o.Chunk.Paths).Distinct(StringComparer.Ordinal).Count(), plan.Chunks.Count, anchored.Comments.Count, anchored.Unanchored.Count, skipped, CheckRunSummaryLimit);
        Log.Reviewed(logger, input.RepoFullName, input.Number, plan.Chunks.Count, anchored.Comments.Count, anchored.Unanchored.Count, inputTokens, outputTokens);

        return new ReviewResult(
            ReviewResultKind.Reviewed,
            body,
            anchored.Comments,
            summary,
            skipped.Any(s => s.Reason.MakesReviewPartial()),
            anchored.Unanchored.Count,
            inputTokens,
            outputTokens,
            null,
            null,
            null)
        {
            Skipped = skipped,
        };
    }

    private async Task<ChunkOutcome> ReviewChunkAsync(
        ReviewInput input,
        ReviewChunk chunk,
        int chunkCount,
        ReviewSettings settings,
        ILlmClient llm,
        bool incremental,
        SemaphoreSlim parallel,
        CancellationTokenSource review,
        CancellationToken cancellationToken)
    {
        int inputTokens = 0, outputTokens = 0;
        try
        {
            await parallel.WaitAsync(review.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ChunkOutcome(chunk, null, null, 0, 0);
        }

        try
        {
            LlmCompletion? completion = null;
            var maxOutput = options.MaxOutputTokens;
            var answerRetried = false;
            var outputLowered = false;
            var transientRetries = 0;
            while (true)
            {
                var prompt = ReviewPrompt.Build(input, chunk, chunkCount, settings.CustomInstructions, incremental);
                completion = await llm.CompleteAsync(
                    new LlmCompletionRequest(settings.Model, prompt.System, prompt.User, ReviewPrompt.SchemaName, ReviewPrompt.OutputSchema, maxOutput),
                    review.Token);
                inputTokens += completion.InputTokens;
                outputTokens += completion.OutputTokens;

                if (completion.Outcome == LlmOutcome.Success)
                {
                    if (ParseReview(completion.Json) is { } parsed)
                    {
                        return new ChunkOutcome(chunk, parsed, completion, inputTokens, outputTokens);
                    }

                    completion = completion with { Outcome = LlmOutcome.InvalidOutput, Message = "The model's answer was not the JSON object asked for." };
                }

                if (completion.Outcome == LlmOutcome.Transient && transientRetries < options.TransientRetries)
                {
                    // Exponential backoff (2 s, 8 s) with jitter when the provider names no delay.
                    var delay = completion.RetryAfter ?? TimeSpan.FromSeconds((2 << (2 * transientRetries)) + Random.Shared.NextDouble());
                    if (delay <= options.MaxTransientRetryDelay)
                    {
                        transientRetries++;
                        Log.ChunkRetry(logger, input.RepoFullName, input.Number, chunk.Index + 1, completion.Outcome.ToString(), transientRetries);
                        await Task.Delay(delay, review.Token);
                        continue;
                    }
                }

                // A model whose output limit is below ours (Claude 3 Haiku and older OpenAI models: 4,096)
                // refuses the request with a 400 naming the limit: asked once more with 4,096.
                if (completion.Outcome == LlmOutcome.BadRequest && !outputLowered && maxOutput > FallbackOutputTokens && NamesOutputLimit(completion.Message))
                {
                    outputLowered = true;
                    maxOutput = FallbackOutputTokens;
                    Log.ChunkRetry(logger, input.RepoFullName, input.Number, chunk.Index + 1, "OutputLimit", 1);
                    continue;
                }

                if (answerRetried || completion.Outcome is not (LlmOutcome.Refused or LlmOutcome.Truncated or LlmOutcome.InvalidOutput))
                {
                    break;
                }

                // A refusal, a cut-off or unusable answer is retried once (with room for a longer answer).
                answerRetried = true;
                Log.ChunkRetry(logger, input.RepoFullName, input.Number, chunk.Index + 1, completion.Outcome.ToString(), 1);
                if (completion.Outcome == LlmOutcome.Truncated && settings.Provider != LlmProvider.Anthropic)
                {
                    // Reasoning tokens (OpenAI o-series/gpt-5, Gemini 2.5 thinking) count against the
                    // output limit, so a second try gets more room, up to 16,384, which current
                    // OpenAI and Gemini models accept. Some Claude models reject max_tokens above
                    // 8,192 with 400, so Anthropic keeps its limit.
                    maxOutput = Math.Min(maxOutput * 2, 16_384);
                }
            }

            if (Severity(completion!.Outcome) < Severity(LlmOutcome.Refused))
            {
                // Nothing else of this review can succeed: stop the other chunks' requests now.
                await review.CancelAsync();
            }

            return new ChunkOutcome(chunk, null, completion, inputTokens, outputTokens);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Stopped by the review's time limit or by another chunk's permanent failure.
            return new ChunkOutcome(chunk, null, null, inputTokens, outputTokens);
        }
        finally
        {
            parallel.Release();
        }
    }

    private const int FallbackOutputTokens = 4_096;

    // "max_tokens: 8192 > 4096, which is the maximum allowed number of output tokens" (Anthropic),
    // "max_tokens is too large: 8192. This model supports at most 4096 completion tokens" (OpenAI),
    // maxOutputTokens (Gemini).
    private static bool NamesOutputLimit(string? message) =>
        message is not null
        && (message.Contains("max_tokens", StringComparison.OrdinalIgnoreCase)
            || message.Contains("max_completion_tokens", StringComparison.OrdinalIgnoreCase)
            || message.Contains("maxOutputTokens", StringComparison.OrdinalIgnoreCase)
            || message.Contains("max_output_tokens", StringComparison.OrdinalIgnoreCase));

    internal static ModelReview? ParseReview(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        // The three providers enforce the JSON shape; an OpenAI-compatible server (OPENAI_BASE_URL) may
        // ignore response_format and wrap the object in a ```json fence or a sentence. The outermost
        // braces are tried then, so that a well-formed review is not failed over its wrapping.
        if (Deserialize(json) is { } review)
        {
            return review;
        }

        var start = json.IndexOf('{', StringComparison.Ordinal);
        var end = json.LastIndexOf('}');
        var wrapped = start >= 0 && end > start && (start > 0 || end < json.Length - 1);
        return wrapped ? Deserialize(json[start..(end + 1)]) : null;

        static ModelReview? Deserialize(string text)
        {
            try
            {
                var review = JsonSerializer.Deserialize(text, ReviewJsonContext.Default.ModelReview);
                return review?.Summary is null || review.Comments is null ? null : review;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    // Lower is more decisive. Permanent problems first, then transient, then per-answer problems.
    private static int Severity(LlmOutcome outcome) => outcome switch
    {
        LlmOutcome.KeyRejected => 0,
        LlmOutcome.QuotaExhausted => 1,
        LlmOutcome.ModelNotFound => 2,
        LlmOutcome.BadRequest => 3,
        LlmOutcome.Transient => 4,
        LlmOutcome.Refused => 5,
        LlmOutcome.Truncated => 6,
        LlmOutcome.InvalidOutput => 7,
        _ => 8,
    };

    // Model text is posted under ReviewBot's name. A forged review marker of CONTRACT §4
    // (`<!-- reviewbot:sha=... -->`) in it could make a later run believe a review was already posted,
    // so the marker's key is broken by an invisible zero-width space wherever the model writes it.
    // Nothing else changes: an HTML comment the model quotes in a code block stays as written.
    internal static string Neutralize(string text) =>
        text.Contains(MarkerKey, StringComparison.OrdinalIgnoreCase)
            ? text.Replace(MarkerKey, "reviewbot:\u200Bsha=", StringComparison.OrdinalIgnoreCase)
            : text;

    private const string MarkerKey = "reviewbot:sha=";

    private static ModelComment NeutralizeComment(ModelComment comment) => comment with
    {
        Body = comment.Body is null ? null : Neutralize(comment.Body),
        Suggestion = comment.Suggestion is null ? null : Neutralize(comment.Suggestion),
    };

    private static List<DiffFile> ParseFiles(IReadOnlyList<PullRequestFile> files, List<SkippedFile> unreadable)
    {
        var parsed = new List<DiffFile>(files.Count);
        foreach (var file in files)
        {
            try
            {
                parsed.Add(PullRequestFiles.ToDiffFile(file));
            }
            catch (DiffFormatException ex)
            {
                if (!unreadable.Any(u => u.Path == file.Path))
                {
                    unreadable.Add(new SkippedFile(file.Path, SkipReason.Unreadable, "the patch could not be read: " + ex.Message));
                }
            }
        }

        return parsed;
    }

    private static Dictionary<string, DiffFile> ToMap(IReadOnlyList<DiffFile> files)
    {
        var map = new Dictionary<string, DiffFile>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            map.TryAdd(file.Path, file);
        }

        return map;
    }

    private static ReviewResult NothingToReview(ReviewInput input, List<SkippedFile> skipped)
    {
        var body = ReviewBody.Compose(input, [], 0, [], skipped);
        var summary = ReviewBody.CheckRunSummary(input, 0, 0, 0, 0, skipped, CheckRunSummaryLimit);
        return new ReviewResult(ReviewResultKind.NothingToReview, body, [], summary, skipped.Any(s => s.Reason.MakesReviewPartial()), 0, 0, 0, null, null, null)
        {
            Skipped = skipped,
        };
    }

    private static ReviewResult Failed(LlmOutcome outcome, string message, TimeSpan? retryAfter, int inputTokens, int outputTokens, List<SkippedFile> skipped) =>
        new(ReviewResultKind.Failed, string.Empty, [], ReviewBody.Truncate("**The review failed.** " + message, CheckRunSummaryLimit), true, 0, inputTokens, outputTokens, outcome, message, retryAfter)
        {
            Skipped = skipped,
        };

    private sealed record ChunkOutcome(ReviewChunk Chunk, ModelReview? Review, LlmCompletion? Completion, int InputTokens, int OutputTokens);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Reviewed {Repo}#{Number}: {Chunks} chunk(s), {Comments} inline comment(s), {Unanchored} note(s) in the body, {InputTokens} input and {OutputTokens} output tokens")]
        public static partial void Reviewed(ILogger logger, string repo, int number, int chunks, int comments, int unanchored, int inputTokens, int outputTokens);

        [LoggerMessage(2, LogLevel.Warning, "Review of {Repo}#{Number}, part {Chunk}: {Outcome} on attempt {Attempt}")]
        public static partial void ChunkRetry(ILogger logger, string repo, int number, int chunk, string outcome, int attempt);

        [LoggerMessage(3, LogLevel.Warning, "Review of {Repo}#{Number} stopped after {Minutes} minutes")]
        public static partial void ReviewTimedOut(ILogger logger, string repo, int number, double minutes);
    }
}

internal sealed record ReviewPlan(IReadOnlyList<ReviewChunk> Chunks, IReadOnlyList<SkippedFile> Skipped);
