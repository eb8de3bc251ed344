using System.Collections.Concurrent;
using ReviewBot.Llm;

namespace ReviewBot.Tests.Review;

// An ILlmClient answering from a function; records every request and the highest concurrency seen.
internal sealed class FakeLlmClient(Func<LlmCompletionRequest, int, CancellationToken, Task<LlmCompletion>> answer) : ILlmClient
{
    private int calls;
    private int inFlight;
    private int maxInFlight;

    public FakeLlmClient(Func<LlmCompletionRequest, int, LlmCompletion> answer)
        : this((r, i, _) => Task.FromResult(answer(r, i)))
    {
    }

    public LlmProvider Provider => LlmProvider.OpenAi;

    public ConcurrentQueue<LlmCompletionRequest> Requests { get; } = new();

    public int MaxInFlight => Volatile.Read(ref maxInFlight);

    public int InFlight => Volatile.Read(ref inFlight);

    public static LlmCompletion Json(string json, int input = 100, int output = 20) => new(LlmOutcome.Success, json, input, output);

    public async Task<LlmCompletion> CompleteAsync(LlmCompletionRequest request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        var index = Interlocked.Increment(ref calls) - 1;
        var now = Interlocked.Increment(ref inFlight);
        int seen;
        while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
        {
        }

        try
        {
            return await answer(request, index, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }
}
