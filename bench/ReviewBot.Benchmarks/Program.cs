using BenchmarkDotNet.Running;

namespace ReviewBot.Benchmarks;

// Not top-level statements: ReviewBot's own Program class (Program.BuildApp) must stay visible here.
internal static class BenchmarkEntry
{
    // `queue ...` runs the job-queue system measurements (QueueBench); anything else goes to BenchmarkDotNet.
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "queue")
        {
            return await QueueBench.RunAsync(args[1..]);
        }

        BenchmarkSwitcher.FromAssembly(typeof(DiffParserBenchmarks).Assembly).Run(args);
        return 0;
    }
}
