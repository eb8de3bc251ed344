using System.Net;
using Microsoft.AspNetCore.Connections;
using Npgsql;
using ReviewBot.Configuration;

namespace ReviewBot.Hosting;

internal static class HostingExtensions
{
    public static WebApplicationBuilder AddHosting(this WebApplicationBuilder builder, ReviewBotOptions options)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<InFlightWork>();
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Webhook bodies are capped by the webhook endpoint itself (413 over 25 MiB, streamed);
            // Kestrel's own limit sits just above so the endpoint can answer with a clear 413.
            kestrel.Limits.MaxRequestBodySize = 26 * 1024 * 1024;
        });

        if (builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null)
        {
            var address = options.ListenAddress switch
            {
                null => IPAddress.IPv6Any,
                "localhost" => IPAddress.Loopback,
                var text => IPAddress.Parse(text),
            };
            builder.WebHost.ConfigureKestrel(k =>
            {
                if (address.Equals(IPAddress.IPv6Any))
                {
                    k.ListenAnyIP(options.Port);
                }
                else
                {
                    k.Listen(address, options.Port);
                }
            });
        }

        // SIGTERM: stop accepting requests, then give in-flight reviews SHUTDOWN_TIMEOUT_SECONDS;
        // the host's own timeout sits a little above so hand-back after the grace period completes.
        // The web server and the workers stop side by side: one after the other, a slow request
        // (a settings save checking a key, a webhook body trickling in) delayed the reviews' grace and
        // hand-back past an orchestrator's kill, and the dispatcher kept claiming meanwhile.
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds + 10);
            o.ServicesStopConcurrently = true;
        });

        // `serve` registers the data source it has already opened the schema check on (ServeCommand);
        // being registered later, that one is the one resolved.
        builder.Services.AddNpgsqlSlimDataSource(options.DatabaseConnectionString, ConfigureDataSource);
        builder.Services.AddSingleton<SchemaMigrator>();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default));
        return builder;
    }

    // The data source outside the container, for `serve` to open the schema check's connection while
    // the host is still being built.
    public static NpgsqlDataSource CreateDataSource(ReviewBotOptions options, ILoggerFactory loggerFactory)
    {
        var dataSource = new NpgsqlSlimDataSourceBuilder(options.DatabaseConnectionString);
        dataSource.UseLoggerFactory(loggerFactory);
        ConfigureDataSource(dataSource);
        return dataSource.Build();
    }

    private static void ConfigureDataSource(NpgsqlSlimDataSourceBuilder dataSource)
    {
        dataSource.EnableArrays();
        // schema.sql uses only PostgreSQL's built-in types (bigint, integer, text, text[], boolean,
        // timestamptz), which Npgsql knows without asking. With type loading on, the first connection
        // of every process first runs a large pg_type/pg_catalog query, a round trip and its parsing
        // on the start-up path ("falls back to a small, builtin, set of known types and type ids":
        // Npgsql NpgsqlTypeLoadingOptionsBuilder.EnableTypeLoading; bench/RESULTS.md, startup).
        dataSource.ConfigureTypeLoading(typeLoading => typeLoading.EnableTypeLoading(false));
    }
}
