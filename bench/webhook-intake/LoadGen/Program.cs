using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

// Signed webhook load for ReviewBot's intake (bench/webhook-intake/run.sh). Every request is a real
// pull_request.synchronize payload (octokit/webhooks fixture) made unique: its own pull request
// number, head SHA and X-GitHub-Delivery, signed with HMAC-SHA256 like GitHub does, so each one
// stores one new review job. Closed loop: CONCURRENCY workers, each sending its next request as
// soon as the previous one is answered, for DURATION seconds after a short warm-up.
var url = new Uri(Arg(0, "http://127.0.0.1:3100/api/github/webhooks"));
var fixture = Arg(1, "../../../shared/fixtures/github/webhooks/pull_request/synchronize.payload.json");
var secret = Encoding.UTF8.GetBytes(Arg(2, "bench-webhook-secret"));
var concurrency = int.Parse(Arg(3, "32"), CultureInfo.InvariantCulture);
var duration = TimeSpan.FromSeconds(double.Parse(Arg(4, "20"), CultureInfo.InvariantCulture));
var warmup = TimeSpan.FromSeconds(double.Parse(Arg(5, "5"), CultureInfo.InvariantCulture));

// Fixed-width placeholders so every request patches the same byte offsets.
const string Sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
var text = File.ReadAllText(fixture)
    .Replace("\"number\": 2,", "\"number\": 1000000000,", StringComparison.Ordinal);
var template = Encoding.UTF8.GetBytes(text);
var numberOffsets = AllIndexesOf(template, "\"number\": 1000000000,"u8.ToArray()).Select(i => i + "\"number\": ".Length).ToList();
var shaOffsets = AllIndexesOf(template, Encoding.ASCII.GetBytes(Sha));
Console.Error.WriteLine($"payload {template.Length} bytes, number at {numberOffsets.Count} and sha at {shaOffsets.Count} places, {concurrency} workers, {warmup.TotalSeconds}s warm-up + {duration.TotalSeconds}s");

long counter = 0;
var run = Guid.NewGuid().ToString("N")[..8];
var statusCounts = new System.Collections.Concurrent.ConcurrentDictionary<int, long>();
var measuring = false;
var stop = false;
var latencies = new List<double>[concurrency];

// A plain HTTP/1.1 keep-alive connection per worker: the client's own CPU stays small (2 shared
// cores), so the numbers are the service's, as pgbench's C client leaves them PostgreSQL's.
async Task WorkerAsync(int worker)
{
    var body = (byte[])template.Clone();
    var mine = latencies[worker] = new List<double>(1 << 16);
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    await socket.ConnectAsync(url.Host, url.Port);
    var receive = new byte[64 * 1024];
    while (!Volatile.Read(ref stop))
    {
        var n = Interlocked.Increment(ref counter);
        var number = Encoding.ASCII.GetBytes((1_000_000_000 + (n % 1_000_000_000)).ToString(CultureInfo.InvariantCulture));
        foreach (var offset in numberOffsets)
        {
            number.CopyTo(body, offset);
        }

        var sha = Encoding.ASCII.GetBytes((run + n.ToString("x", CultureInfo.InvariantCulture)).PadLeft(40, '0'));
        foreach (var offset in shaOffsets)
        {
            sha.CopyTo(body, offset);
        }

        var head = Encoding.ASCII.GetBytes(
            $"POST {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: application/json\r\nUser-Agent: GitHub-Hookshot/bench\r\n" +
            $"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {run}-{n}\r\n" +
            $"X-Hub-Signature-256: sha256={Convert.ToHexStringLower(HMACSHA256.HashData(secret, body))}\r\nContent-Length: {body.Length}\r\n\r\n");

        var started = Stopwatch.GetTimestamp();
        await socket.SendAsync(new List<ArraySegment<byte>> { head, body });
        var status = await ReadResponseAsync(socket, receive);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (Volatile.Read(ref measuring))
        {
            mine.Add(elapsed);
            statusCounts.AddOrUpdate(status, 1, (_, c) => c + 1);
        }
    }
}

// Reads one response (Content-Length or chunked) and returns its status code.
static async Task<int> ReadResponseAsync(Socket socket, byte[] buffer)
{
    var filled = 0;
    int headerEnd;
    while ((headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
    {
        filled += await Receive(socket, buffer, filled);
    }

    var headers = Encoding.ASCII.GetString(buffer, 0, headerEnd);
    var status = int.Parse(headers.AsSpan(9, 3), CultureInfo.InvariantCulture);
    var bodyStart = headerEnd + 4;
    var lengthAt = headers.IndexOf("Content-Length:", StringComparison.OrdinalIgnoreCase);
    if (lengthAt >= 0)
    {
        var lineEnd = headers.IndexOf('\r', lengthAt);
        var length = int.Parse(headers.AsSpan(lengthAt + 15, (lineEnd < 0 ? headers.Length : lineEnd) - lengthAt - 15).Trim(), CultureInfo.InvariantCulture);
        while (filled - bodyStart < length)
        {
            filled += await Receive(socket, buffer, filled);
        }
    }
    else
    {
        while (buffer.AsSpan(bodyStart, filled - bodyStart).IndexOf("0\r\n\r\n"u8) < 0)
        {
            filled += await Receive(socket, buffer, filled);
        }
    }

    return status;
}

static async Task<int> Receive(Socket socket, byte[] buffer, int offset)
{
    var read = await socket.ReceiveAsync(buffer.AsMemory(offset));
    return read > 0 ? read : throw new IOException("connection closed by the server");
}

var workers = Enumerable.Range(0, concurrency).Select(i => Task.Run(() => WorkerAsync(i))).ToArray();
await Task.Delay(warmup);
Volatile.Write(ref measuring, true);
var clock = Stopwatch.StartNew();
await Task.Delay(duration);
Volatile.Write(ref measuring, false);
var seconds = clock.Elapsed.TotalSeconds;
Volatile.Write(ref stop, true);
await Task.WhenAll(workers);

var all = latencies.SelectMany(l => l).Order().ToArray();
double P(double q) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)Math.Ceiling(q * all.Length) - 1)];
var ok = statusCounts.GetValueOrDefault(202);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"requests={all.Length} accepted202={ok} other={string.Join(",", statusCounts.Where(kv => kv.Key != 202).Select(kv => $"{kv.Key}:{kv.Value}"))} seconds={seconds:F1} rate={all.Length / seconds:F0}/s p50={P(0.50):F2}ms p90={P(0.90):F2}ms p99={P(0.99):F2}ms max={all.LastOrDefault():F2}ms"));

string Arg(int i, string fallback) => args.Length > i ? args[i] : fallback;

static List<int> AllIndexesOf(byte[] haystack, byte[] needle)
{
    var result = new List<int>();
    for (var start = 0; ;)
    {
        var i = haystack.AsSpan(start).IndexOf(needle);
        if (i < 0)
        {
            return result;
        }

        result.Add(start + i);
        start += i + needle.Length;
    }
}
