using ReviewBot.Jobs;

namespace ReviewBot.Tests.Jobs;

public sealed class JobPresenceTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    // Missing locks are evidence of a dead owner only while this process holds its own; after its
    // listener reconnected (the database went away for everyone), only once that has lasted `settle`.
    [Theory]
    [InlineData(false, 1, 60_000, false)]  // not holding its own lock: no judging others' locks
    [InlineData(true, 1, 0, true)]         // first connection of a fresh process: no outage behind it
    [InlineData(true, 2, 3_000, false)]    // reconnected 3 s ago: the others may still be coming back
    [InlineData(true, 2, 10_000, true)]
    [InlineData(true, 5, 60_000, true)]
    public void Locks_are_judged_only_once_this_process_has_settled(bool held, int connections, long heldForMs, bool expected)
    {
        Assert.Equal(expected, JobPresence.MayJudgeLocks(held, connections, heldForMs, Settle));
    }
}
