using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(ReviewBot.Benchmarks.DiffParserBenchmarks).Assembly).Run(args);
