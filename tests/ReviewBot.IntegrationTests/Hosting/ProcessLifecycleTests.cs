using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Hosting;

public sealed class ProcessLifecycleTests
{
    [Fact]
    public async Task Serve_becomes_healthy_and_exits_cleanly_on_SIGTERM()
    {
        await using var db = await TestDatabase.CreateAsync();
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
        await using var process = ReviewBotProcess.Start(env);

        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        var stopwatch = Stopwatch.StartNew();
        process.Terminate();

        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"shutdown took {stopwatch.Elapsed}");

        // Every line on stdout is one JSON object with the contract's fields.
        Assert.NotEmpty(process.StandardOutput);
        foreach (var line in process.StandardOutput)
        {
            using var json = JsonDocument.Parse(line);
            foreach (var field in new[] { "timestamp", "level", "message", "category" })
            {
                Assert.True(json.RootElement.TryGetProperty(field, out _), $"'{field}' missing in: {line}");
            }
        }
    }

    [Fact]
    public async Task The_JIT_build_that_make_run_and_make_demo_start_serves_and_exits_cleanly_too()
    {
        // The other process tests run the published binary in CI (REVIEWBOT_BINARY); this one always runs
        // the apphost beside the tests, which has no native start-up code to call.
        await using var db = await TestDatabase.CreateAsync();
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
        env["LOG_LEVEL"] = "Debug";
        await using var process = ReviewBotProcess.Start(ReviewBotProcess.ApphostPath, env);

        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(60));
        process.Terminate();

        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(process.StandardOutput, l => l.Contains("\"NativeImageStarted\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Native_image_populates_its_type_data_on_huge_pages_before_start_and_drops_the_compressed_copy()
    {
        // The JIT apphost (a build without REVIEWBOT_BINARY) has ReviewBot.dll beside it and no native start-up code.
        if (File.Exists(ReviewBotProcess.BinaryPath + ".dll"))
        {
            Assert.Skip("needs the published native-AOT binary (REVIEWBOT_BINARY)");
        }

        await using var db = await TestDatabase.CreateAsync();
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
        env["LOG_LEVEL"] = "Debug";
        await using var process = ReviewBotProcess.Start(env);
        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        var typeDataFlags = AnonymousMappingAfterImage(File.ReadAllLines($"/proc/{process.Id}/smaps"), ReviewBotProcess.BinaryPath);
        process.Terminate();
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        var line = Assert.Single(process.StandardOutput, l => l.Contains("\"NativeImageStarted\"", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(line);
        // MADV_POPULATE_WRITE exists from Linux 5.14; an older kernel refuses it (EINVAL) and the runtime faults the pages in itself.
        var populateError = json.RootElement.GetProperty("PopulateError").GetInt32();
        Assert.Equal(Environment.OSVersion.Version >= new Version(5, 14) ? 0 : 22, populateError);
        // MADV_HUGEPAGE is taken by every kernel built with transparent huge pages (whatever the host's THP
        // setting, which decides whether it has an effect); the advice shows as "hg" on the mapping the
        // type data is expanded into: the image's zero-filled part, right after its file-backed ones.
        var hugePages = Directory.Exists("/sys/kernel/mm/transparent_hugepage");
        Assert.Equal(hugePages ? 0 : 22, json.RootElement.GetProperty("HugePageError").GetInt32());
        Assert.Equal(hugePages, typeDataFlags.Split(' ').Contains("hg"));
        // The compressed type data is megabytes (4.1 MB when measured); all of it but its partial first and last pages is dropped.
        Assert.InRange(json.RootElement.GetProperty("ReleasedBytes").GetInt64(), 1L << 20, 64L << 20);
    }

    // The VmFlags of the first mapping after the image's last file-backed one (its .bss and .hydrated).
    private static string AnonymousMappingAfterImage(string[] smaps, string binaryPath)
    {
        var image = File.ResolveLinkTarget(binaryPath, returnFinalTarget: true)?.FullName ?? Path.GetFullPath(binaryPath);
        string? previousPath = null;
        var afterImage = false;
        foreach (var line in smaps)
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && !fields[0].EndsWith(':'))
            {
                var path = fields.Length >= 6 ? fields[5] : "";
                afterImage = previousPath == image && path != image;
                previousPath = path;
            }
            else if (afterImage && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Trim();
            }
        }

        throw new InvalidOperationException($"no mapping after {image} in smaps");
    }

    [Fact]
    public async Task Serve_waits_for_a_database_that_is_not_up_yet_and_says_so_in_its_log()
    {
        await using var db = await TestDatabase.CreateAsync();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        proxy.GoDown();
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        await using var process = ReviewBotProcess.Start(ReviewBotProcess.BaseEnvironment(viaProxy, ReviewBotProcess.FreePort()));

        await Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken);
        Assert.False(process.HasExited);
        proxy.ComeBack();
        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        process.Terminate();
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // The first connection is opened before the host's logging exists; the check's warnings are written, as JSON.
        var notReady = process.StandardOutput.Where(line => line.Contains("Database not ready", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(notReady);
        using var json = JsonDocument.Parse(notReady[0]);
        Assert.Equal("warn", json.RootElement.GetProperty("level").GetString());
        Assert.Equal("ReviewBot.Hosting.ServeCommand", json.RootElement.GetProperty("category").GetString());
    }

    [Fact]
    public async Task Invalid_configuration_exits_2_within_a_second_naming_each_variable_without_secrets()
    {
        var env = new Dictionary<string, string>
        {
            ["GITHUB_APP_ID"] = "not-a-number",
            ["GITHUB_PRIVATE_KEY"] = "-----BEGIN RSA PRIVATE KEY-----\\nsupersecretgarbage\\n-----END RSA PRIVATE KEY-----",
            ["DATABASE_URL"] = "postgres://user:hunter2-password@localhost:5432/db",
            ["ENCRYPTION_KEY"] = "dG9vLXNob3J0",
            ["PORT"] = "3000",
        };
        var stopwatch = Stopwatch.StartNew();
        await using var process = ReviewBotProcess.Start(env);

        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        // The one-second promise is for the shipped native binary (CI sets REVIEWBOT_BINARY to it); the
        // JIT apphost used in a plain `dotnet test` spends most of a second just starting the runtime.
        var limit = Environment.GetEnvironmentVariable("REVIEWBOT_BINARY") is { Length: > 0 } ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(5);
        Assert.True(stopwatch.Elapsed < limit, $"took {stopwatch.Elapsed}");
        var errors = string.Join('\n', process.StandardError);
        Assert.Contains("GITHUB_APP_ID", errors, StringComparison.Ordinal);
        Assert.Contains("GITHUB_PRIVATE_KEY", errors, StringComparison.Ordinal);
        Assert.Contains("GITHUB_WEBHOOK_SECRET is required", errors, StringComparison.Ordinal);
        Assert.Contains("ENCRYPTION_KEY", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("supersecretgarbage", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("dG9vLXNob3J0", errors, StringComparison.Ordinal);
        Assert.Empty(process.StandardOutput);
    }

    [Fact]
    public async Task Healthcheck_verb_exits_0_for_healthy_and_1_for_absent_server()
    {
        await using var db = await TestDatabase.CreateAsync();
        var port = ReviewBotProcess.FreePort();
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, port);
        await using var server = ReviewBotProcess.Start(env);
        await server.WaitForHealthyAsync(TimeSpan.FromSeconds(30));

        await using (var healthy = ReviewBotProcess.Start(env, "healthcheck"))
        {
            Assert.Equal(0, await healthy.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        }

        var absent = $"http://127.0.0.1:{ReviewBotProcess.FreePort()}/health";
        await using (var unreachable = ReviewBotProcess.Start(env, "healthcheck", "--url", absent))
        {
            Assert.Equal(1, await unreachable.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        }

        // Not an http URL (a scheme HttpClient does not speak, a missing "http://"): unhealthy, not a crash.
        foreach (var wrong in new[] { "ftp://127.0.0.1:1/health", "localhost:1/health" })
        {
            await using var bad = ReviewBotProcess.Start(env, "healthcheck", "--url", wrong);
            Assert.Equal(1, await bad.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        }
    }
}
