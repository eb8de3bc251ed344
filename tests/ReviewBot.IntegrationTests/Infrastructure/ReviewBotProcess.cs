using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ReviewBot.IntegrationTests.Infrastructure;

// The real ReviewBot binary as a child process: for what only a process can show (SIGTERM, kill -9,
// exit codes, stdout). REVIEWBOT_BINARY points at a published AOT binary; otherwise the apphost
// built beside the tests is used.
internal sealed partial class ReviewBotProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    private ReviewBotProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _stdout.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _stderr.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int Id => _process.Id;

    public IReadOnlyCollection<string> StandardOutput => _stdout.ToArray();

    public IReadOnlyCollection<string> StandardError => _stderr.ToArray();

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static string BinaryPath
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable("REVIEWBOT_BINARY");
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return configured;
            }

            return ApphostPath;
        }
    }

    // The JIT build (what `make run` and `make demo` start): the integration test project references
    // ReviewBot, so its apphost sits beside the tests.
    public static string ApphostPath
    {
        get
        {
            var beside = Path.Combine(AppContext.BaseDirectory, "ReviewBot");
            return File.Exists(beside) ? beside : throw new FileNotFoundException("ReviewBot binary not found; build the solution or set REVIEWBOT_BINARY", beside);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static Dictionary<string, string> BaseEnvironment(string connectionString, int port) => new()
    {
        ["GITHUB_APP_ID"] = "12345",
        ["GITHUB_PRIVATE_KEY"] = TestKeys.PrivateKeyPem.Replace("\n", "\\n", StringComparison.Ordinal),
        ["GITHUB_WEBHOOK_SECRET"] = TestKeys.WebhookSecret,
        ["DATABASE_URL"] = connectionString,
        ["ENCRYPTION_KEY"] = TestKeys.EncryptionKeyBase64,
        ["ADMIN_TOKEN"] = TestKeys.AdminToken,
        ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["LISTEN_ADDRESS"] = "127.0.0.1",
        ["SHUTDOWN_TIMEOUT_SECONDS"] = "10",
    };

    public static ReviewBotProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start(BinaryPath, environment, args);

    public static ReviewBotProcess Start(string binaryPath, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var port = environment.TryGetValue("PORT", out var p) ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : 3000;
        var info = new ProcessStartInfo(binaryPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // Start from a clean environment so the developer's own variables never leak into a test.
        foreach (var key in info.Environment.Keys.ToList())
        {
            if (key is not ("PATH" or "HOME" or "DOTNET_ROOT" or "TMPDIR" or "LANG"))
            {
                info.Environment.Remove(key);
            }
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return new ReviewBotProcess(Process.Start(info)!, port);
    }

    public async Task WaitForHealthyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"ReviewBot exited with {_process.ExitCode}: {string.Join('\n', _stderr)}\n{string.Join('\n', _stdout)}");
            }

            try
            {
                using var response = await client.GetAsync("health");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"ReviewBot did not become healthy within {timeout}: {string.Join('\n', _stdout)}");
    }

    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
        }
    }

    public void Terminate() => Signal(15);

    public void KillHard() => _process.Kill(entireProcessTree: true);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
