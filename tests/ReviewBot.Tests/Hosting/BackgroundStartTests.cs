using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ReviewBot.Hosting;

namespace ReviewBot.Tests.Hosting;

// Background services are built and started only once the host has started (the web server is
// listening), in registration order, and stopped in reverse; one that fails stops the host.
public sealed class BackgroundStartTests
{
    [Fact]
    public async Task Services_are_built_after_the_host_started_in_order_and_stopped_in_reverse()
    {
        var journal = new Journal();
        using var host = Build(journal, services =>
        {
            services.AddBackgroundService<First>();
            services.AddBackgroundService<Second>();
            services.AddHostedService<Probe>();
        });

        await host.StartAsync(TestContext.Current.CancellationToken);
        await journal.WaitForAsync("start Second");
        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.False(AnyFailed(host));
        Assert.Equal(
            ["probe start", "new First", "start First", "new Second", "start Second", "stop Second", "stop First"],
            journal.Entries.Where(e => !e.StartsWith("probe stop", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_service_that_fails_to_start_stops_the_host_and_the_next_one_is_not_started()
    {
        var journal = new Journal();
        using var host = Build(journal, services =>
        {
            services.AddBackgroundService<FailsToStart>();
            services.AddBackgroundService<Second>();
        });

        await host.StartAsync(TestContext.Current.CancellationToken);
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        await WaitAsync(lifetime.ApplicationStopping);
        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.DoesNotContain("new Second", journal.Entries);
        Assert.True(AnyFailed(host));
    }

    [Fact]
    public async Task A_loop_that_dies_stops_the_host()
    {
        var journal = new Journal();
        using var host = Build(journal, services => services.AddBackgroundService<DiesInLoop>());

        Assert.False(AnyFailed(host));
        await host.StartAsync(TestContext.Current.CancellationToken);
        await WaitAsync(host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
        await host.StopAsync(TestContext.Current.CancellationToken);

        // What `serve` turns into its exit code: not the 0 of a clean shutdown.
        Assert.True(AnyFailed(host));
    }

    [Fact]
    public async Task A_host_that_never_started_builds_none_of_them()
    {
        var journal = new Journal();
        using var host = Build(journal, services =>
        {
            services.AddBackgroundService<First>();
            services.AddHostedService<FailsToStartHosted>();
        });

        await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        await host.StopAsync(TestContext.Current.CancellationToken);
        await Task.Delay(100, TestContext.Current.CancellationToken);

        Assert.DoesNotContain("new First", journal.Entries);
    }

    // What ServeCommand turns into its exit code.
    private static bool AnyFailed(IHost host) =>
        host.Services.GetServices<IHostedService>().OfType<BackgroundStart>().Any(b => b.Failed);

    private static IHost Build(Journal journal, Action<IServiceCollection> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(journal);
        configure(builder.Services);
        return builder.Build();
    }

    private static async Task WaitAsync(CancellationToken token)
    {
        var signalled = new TaskCompletionSource();
        await using var registration = token.Register(() => signalled.TrySetResult());
        await signalled.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    internal sealed class Journal
    {
        private readonly Lock _gate = new();
        private readonly List<string> _entries = [];

        public IReadOnlyList<string> Entries
        {
            get
            {
                lock (_gate)
                {
                    return [.. _entries];
                }
            }
        }

        public void Add(string entry)
        {
            lock (_gate)
            {
                _entries.Add(entry);
            }
        }

        public async Task WaitForAsync(string entry)
        {
            for (var i = 0; i < 1000 && !Entries.Contains(entry); i++)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            Assert.Contains(entry, Entries);
        }
    }

    internal abstract class Recorded : IHostedService
    {
        private readonly Journal _journal;

        protected Recorded(Journal journal)
        {
            _journal = journal;
            _journal.Add($"new {GetType().Name}");
        }

        public virtual Task StartAsync(CancellationToken cancellationToken)
        {
            _journal.Add($"start {GetType().Name}");
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            _journal.Add($"stop {GetType().Name}");
            return Task.CompletedTask;
        }
    }

    internal sealed class First(Journal journal) : Recorded(journal);

    internal sealed class Second(Journal journal) : Recorded(journal);

    internal sealed class FailsToStart(Journal journal) : Recorded(journal)
    {
        public override Task StartAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("no");
    }

    internal sealed class Probe(Journal journal) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            journal.Add("probe start");
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            journal.Add("probe stop");
            return Task.CompletedTask;
        }
    }

    internal sealed class FailsToStartHosted : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("no");

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    internal sealed class DiesInLoop : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("loop died");
        }
    }
}
