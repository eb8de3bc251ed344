using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using ReviewBot.Configuration;

namespace ReviewBot.Pages;

internal static class PagesExtensions
{
    // CONTRACT §9: only with GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and PUBLIC_URL; otherwise nothing is
    // registered or mapped, the page routes answer 404 and the API is exactly as without this module.
    public static WebApplicationBuilder AddSettingsPages(this WebApplicationBuilder builder, ReviewBotOptions options)
    {
        if (!options.SettingsPageEnabled)
        {
            return builder;
        }

        var secure = options.PublicUrl!.Scheme == Uri.UriSchemeHttps;
        // Registered before AddAuthentication/AddAntiforgery, whose AddDataProtection only TryAdds its provider.
        builder.Services.AddSingleton<IDataProtectionProvider>(new ConfiguredDataProtectionProvider(options.EncryptionKey, options.EncryptionKeysOld));
        builder.Services.AddAuthentication(PageSession.Scheme).AddCookie(PageSession.Scheme, cookie =>
        {
            cookie.Cookie.Name = PageSession.CookieName;
            cookie.Cookie.HttpOnly = true;
            // Behind a TLS-terminating proxy the request itself is http; PUBLIC_URL says what the browser sees.
            cookie.Cookie.SecurePolicy = secure ? CookieSecurePolicy.Always : CookieSecurePolicy.None;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.ExpireTimeSpan = PageSession.MaxLifetime;
            cookie.SlidingExpiration = false;
            // Pages decide themselves where an anonymous visitor goes; no automatic /Account/Login redirects.
            cookie.Events.OnRedirectToLogin = context => { context.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
            cookie.Events.OnRedirectToAccessDenied = context => { context.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
        });
        builder.Services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = PageSession.AntiforgeryCookieName;
            antiforgery.Cookie.SecurePolicy = secure ? CookieSecurePolicy.Always : CookieSecurePolicy.None;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.FormFieldName = PageSession.AntiforgeryFieldName;
        });

        // The key ring that AddDataProtection would create at start (files under ~/.aspnet) is never used
        // with the provider above: drop its start-up initializer so nothing is written to disk.
        var keyRingInitializer = builder.Services.FirstOrDefault(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "DataProtectionHostedService");
        if (keyRingInitializer is not null)
        {
            builder.Services.Remove(keyRingInitializer);
        }

        builder.Services.AddSingleton<GitHubOAuth>();
        // The code exchange waits on GitHub's web host, which normally answers in well under a second.
        builder.Services.AddHttpClient(GitHubOAuth.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10));
        return builder;
    }

    public static WebApplication MapSettingsPagesIfEnabled(this WebApplication app, ReviewBotOptions options)
    {
        if (!options.SettingsPageEnabled)
        {
            return app;
        }

        if (options.PublicUrl!.Scheme == Uri.UriSchemeHttps)
        {
            // TLS ends at the reverse proxy in front (README), which speaks plain HTTP to Kestrel: the
            // browser's request was https, as PUBLIC_URL says. Antiforgery refuses its Secure cookie on
            // a request it takes for http (InvalidOperationException: every signed-in page was a 500).
            app.Use((context, next) =>
            {
                context.Request.Scheme = Uri.UriSchemeHttps;
                return next(context);
            });
        }

        app.UseAuthentication();
        return app.MapSettingsPages();
    }
}
