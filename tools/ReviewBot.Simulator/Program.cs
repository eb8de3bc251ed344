using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using ReviewBot.Simulator;
using ReviewBot.Simulator.Client;
using ReviewBot.Simulator.Faults;

namespace ReviewBot.Simulator;

// ReviewBot.Simulator serve    [--port N] [--app-id N] --key-file PEM [--url-file FILE] [--faults JSON]
// ReviewBot.Simulator load     --sim URL --reviewbot URL[,URL] --webhook-secret S --admin-token T
//                              [--mode reviews|intake|inflight] [--installations K] [--pulls N] [--senders S] [--pids P,P]
// ReviewBot.Simulator free-port | random-hex N | random-base64 N
// ReviewBot.Simulator keygen   --out FILE                  (an RSA App key, PKCS#1 PEM, as GitHub issues)
// ReviewBot.Simulator demo-run --sim URL --reviewbot URL --admin-token T --webhook-secret S
//                              [--provider openai|anthropic|gemini] [--model M] [--timeout SECONDS]
// (An explicit class, not top-level statements: .NET 10 makes a top-level Program public, and the
// integration tests reference both this and ReviewBot, whose Program they use.)
internal static class SimulatorProgram
{
    public static async Task<int> Main(string[] args)
    {
        var verb = args.Length > 0 ? args[0] : "serve";
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        string Option(string name, string? fallback = null) =>
            options.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"--{name} is required");

        switch (verb)
        {
            case "keygen":
            {
                using var rsa = RSA.Create(2048);
                var path = Option("out");
                File.WriteAllText(path, rsa.ExportRSAPrivateKeyPem());
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                return 0;
            }

            // Helpers for scripts/demo.sh, so it needs nothing but the .NET SDK (no openssl, no curl).
            case "free-port":
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
                listener.Start();
                Console.WriteLine(((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
                return 0;
            }

            case "random-hex":
                Console.WriteLine(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(int.Parse(args[1], CultureInfo.InvariantCulture))));
                return 0;

            case "random-base64":
                Console.WriteLine(Convert.ToBase64String(RandomNumberGenerator.GetBytes(int.Parse(args[1], CultureInfo.InvariantCulture))));
                return 0;

            case "serve":
            {
                var faults = options.TryGetValue("faults", out var json)
                    ? JsonSerializer.Deserialize<FaultSettings>(json, JsonSerializerOptions.Web) ?? FaultSettings.None
                    : FaultSettings.None;
                await using var host = await SimulatorHost.StartAsync(new SimulatorOptions
                {
                    Port = int.Parse(Option("port", "0"), CultureInfo.InvariantCulture),
                    AppId = long.Parse(Option("app-id", "12345"), CultureInfo.InvariantCulture),
                    AppKeyPem = File.ReadAllText(Option("key-file")),
                    Faults = faults,
                });
                Console.WriteLine($"simulator listening on {host.BaseAddress}");
                if (options.TryGetValue("url-file", out var urlFile))
                {
                    File.WriteAllText(urlFile, host.BaseAddress.ToString());
                }

                using var stop = new CancellationTokenSource();
                Console.CancelKeyPress += (_, e) =>
                {
                    e.Cancel = true;
                    stop.Cancel();
                };
                using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
                {
                    c.Cancel = true;
                    stop.Cancel();
                });
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }

                return 0;
            }

            case "load":
                return await LoadRun.RunAsync(options);

            case "demo-run":
                try
                {
                    return await DemoRun.RunAsync(
                        new Uri(Option("sim").TrimEnd('/') + "/"),
                        new Uri(Option("reviewbot").TrimEnd('/') + "/"),
                        Option("admin-token"),
                        Option("webhook-secret"),
                        Option("provider", "openai"),
                        Option("model", "gpt-4o-mini"),
                        TimeSpan.FromSeconds(double.Parse(Option("timeout", "90"), CultureInfo.InvariantCulture)));
                }
                catch (Exception ex) when (ex is TimeoutException or HttpRequestException)
                {
                    Console.Error.WriteLine("demo: " + ex.Message);
                    return 1;
                }

            default:
                Console.Error.WriteLine($"unknown command {verb}: use serve, keygen or demo-run");
                return 2;
        }
    }
}
