using ReviewBot.Configuration;
using ReviewBot.GitHub;

namespace ReviewBot.Settings;

internal static class SettingsExtensions
{
    // ILlmClientFactory is not registered here: the settings API resolves it per request from
    // whatever Llm/ registers, so this module builds and runs without it.
    public static WebApplicationBuilder AddSettings(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new SecretCipher(sp.GetRequiredService<ReviewBotOptions>()));
        builder.Services.AddSingleton<SettingsStore>();
        builder.Services.AddSingleton<FailedAuthenticationLimiter>();
        builder.Services.AddSingleton<UserInstallationsCache>();
        builder.Services.AddSingleton<SettingsAccess>();
        builder.Services.AddSingleton<SettingsService>();
        builder.Services.AddSingleton<GitHubUserClient>();
        // A settings request waits on this call; GitHub normally answers in well under a second.
        builder.Services.AddHttpClient(GitHubUserClient.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10));
        return builder;
    }
}
