using System.Net;
using System.Net.Sockets;

namespace ReviewBot.IntegrationTests.Infrastructure;

// A loopback TCP proxy in front of PostgreSQL, so a test can make the database "go away" (every
// connection cut, new ones refused) and come back, without touching the shared server.
internal sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _connections = [];
    private readonly Lock _gate = new();
    private volatile bool _down;

    public TcpProxy(string targetHost, int targetPort)
    {
        _target = new IPEndPoint(Dns.GetHostAddresses(targetHost).First(a => a.AddressFamily == AddressFamily.InterNetwork), targetPort);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptLoopAsync();
    }

    public int Port { get; }

    public void GoDown()
    {
        _down = true;
        lock (_gate)
        {
            foreach (var c in _connections)
            {
                Abort(c);
            }

            _connections.Clear();
        }
    }

    // RST rather than FIN, as when a server dies.
    private static void Abort(TcpClient client)
    {
        try
        {
            client.Client?.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
        }

        client.Dispose();
    }

    public void ComeBack() => _down = false;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            if (_down)
            {
                Abort(client);
                continue;
            }

            _ = PipeAsync(client);
        }
    }

    private async Task PipeAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_target, _stop.Token);
            lock (_gate)
            {
                _connections.Add(client);
                _connections.Add(upstream);
            }

            var a = client.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token);
            var b = upstream.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception)
        {
            // A cut connection ends here; that is the point of the proxy.
        }
        finally
        {
            client.Dispose();
            upstream.Dispose();
            lock (_gate)
            {
                _connections.Remove(client);
                _connections.Remove(upstream);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        GoDown();
        return ValueTask.CompletedTask;
    }
}
