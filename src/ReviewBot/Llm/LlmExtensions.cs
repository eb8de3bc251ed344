using Microsoft.Extensions.DependencyInjection.Extensions;
using ReviewBot.Configuration;
using ReviewBot.Upstream;

namespace ReviewBot.Llm;

internal static class LlmExtensions
{
    public static WebApplicationBuilder AddLlm(this WebApplicationBuilder builder, ReviewBotOptions options)
    {
        var endpoints = LlmEndpoints.FromOptions(options);
        builder.Services.AddSingleton(endpoints);
        foreach (var provider in Enum.GetValues<LlmProvider>())
        {
            builder.Services.AddHttpClient(LlmEndpoints.HttpClientName(provider), client =>
            {
                client.BaseAddress = endpoints.BaseUrl(provider);
                client.Timeout = endpoints.RequestTimeout;
            });
        }

        builder.Services.TryAddSingleton(sp => new CredentialCooldown(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<ILlmClientFactory, LlmClientFactory>();
        return builder;
    }
}
