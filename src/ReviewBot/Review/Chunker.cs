using System.Text;
using ReviewBot.Llm;

namespace ReviewBot.Review;

// One file's hunks (all of them, or a run of them when the file alone exceeds a chunk).
internal sealed record ChunkPart(DiffFile File, IReadOnlyList<DiffHunk> Hunks, int EstimatedTokens);

internal sealed record ReviewChunk(int Index, IReadOnlyList<ChunkPart> Parts)
{
    public int EstimatedTokens => Parts.Sum(p => p.EstimatedTokens);

    public IReadOnlyList<string> Paths => Parts.Select(p => p.File.Path).Distinct(StringComparer.Ordinal).ToList();
}

internal sealed record ChunkPlan(IReadOnlyList<ReviewChunk> Chunks, IReadOnlyList<SkippedFile> OverBudget);

// Packs reviewable files into chunks that each fit one request.
internal static class Chunker
{
    // Context windows of the providers' current general models (tokens): gpt-4o / gpt-4.1-mini
    // 128k+ (https://platform.openai.com/docs/models), Claude 200k
    // (https://docs.anthropic.com/en/docs/about-claude/models), Gemini 2.x 1M
    // (https://ai.google.dev/gemini-api/docs/models). A chunk uses at most half the window, capped,
    // which leaves room for the prompt and the answer and keeps the model's attention on the code.
    public static int DefaultChunkBudget(LlmProvider provider) => provider switch
    {
        LlmProvider.OpenAi => 60_000,
        LlmProvider.Anthropic => 90_000,
        LlmProvider.Gemini => 120_000,
        _ => 60_000,
    };

    // Code runs at about 3 characters per token in BPE tokenizers (English prose about 4); the
    // lower figure overestimates, which is the safe side for a budget.
    public static int EstimateTokens(int characters) => (characters + 2) / 3;

    public static int EstimateTokens(DiffFile file, IReadOnlyList<DiffHunk> hunks)
    {
        var builder = new StringBuilder();
        ReviewPrompt.RenderFile(builder, file, hunks);
        return EstimateTokens(builder.Length);
    }

    public static ChunkPlan Plan(IReadOnlyList<DiffFile> files, int chunkBudget, int maxChunks)
    {
        var chunks = new List<List<ChunkPart>>();
        var tokensInLast = 0;
        var overBudget = new List<SkippedFile>();

        foreach (var file in files)
        {
            if (file.Hunks.Count == 0)
            {
                continue;
            }

            var parts = Split(file, chunkBudget);
            if (parts is null)
            {
                overBudget.Add(new SkippedFile(file.Path, SkipReason.OverBudget, "a single hunk is larger than one review request allows"));
                continue;
            }

            // Place all of a file's parts or none of them, so a file is never half reviewed.
            var count = chunks.Count;
            var last = tokensInLast;
            var placement = new List<int>(parts.Count);
            foreach (var part in parts)
            {
                if (count == 0 || last + part.EstimatedTokens > chunkBudget)
                {
                    count++;
                    last = 0;
                }

                placement.Add(count - 1);
                last += part.EstimatedTokens;
            }

            if (count > maxChunks)
            {
                overBudget.Add(new SkippedFile(file.Path, SkipReason.OverBudget, "the pull request is larger than the review's token budget"));
                continue;
            }

            for (var i = 0; i < parts.Count; i++)
            {
                while (chunks.Count <= placement[i])
                {
                    chunks.Add([]);
                }

                chunks[placement[i]].Add(parts[i]);
            }

            tokensInLast = last;
        }

        return new ChunkPlan(chunks.Select((parts, i) => new ReviewChunk(i, parts)).ToList(), overBudget);
    }

    // The whole file as one part, or consecutive runs of hunks that each fit; null when one hunk alone does not fit.
    private static List<ChunkPart>? Split(DiffFile file, int budget)
    {
        var whole = EstimateTokens(file, file.Hunks);
        if (whole <= budget)
        {
            return [new ChunkPart(file, file.Hunks, whole)];
        }

        var parts = new List<ChunkPart>();
        var run = new List<DiffHunk>();
        var runTokens = 0;
        foreach (var hunk in file.Hunks)
        {
            var tokens = EstimateTokens(file, [hunk]);
            if (tokens > budget)
            {
                return null;
            }

            if (run.Count > 0 && runTokens + tokens > budget)
            {
                parts.Add(new ChunkPart(file, run, EstimateTokens(file, run)));
                run = [];
                runTokens = 0;
            }

            run.Add(hunk);
            runTokens += tokens;
        }

        if (run.Count > 0)
        {
            parts.Add(new ChunkPart(file, run, EstimateTokens(file, run)));
        }

        return parts;
    }
}
