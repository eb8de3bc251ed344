using System.Globalization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.Features;
using ReviewBot.Configuration;
using ReviewBot.Settings;

namespace ReviewBot.Pages;

// CONTRACT §9: the settings page. Every page that shows installation data authenticates the session's
// GitHub user token through SettingsAccess and reads or saves through SettingsService: the same
// rules, the same 404 for an installation the user may not see, as the settings API.
internal static partial class PageEndpoints
{
    // The form is a few KiB; anything far larger is not this form.
    private const int MaxFormBytes = 64 * 1024;

    public static WebApplication MapSettingsPages(this WebApplication app)
    {
        app.MapGet("/assets/site.css", () => Results.Text(PageAssets.Css, "text/css; charset=utf-8"));
        app.MapGet("/assets/settings.js", () => Results.Text(PageAssets.Script, "text/javascript; charset=utf-8"));
        app.MapGet("/", Landing);
        app.MapGet("/auth/github/login", Login);
        app.MapGet(GitHubOAuth.CallbackPath, CallbackAsync);
        app.MapPost("/auth/logout", LogoutAsync);
        app.MapGet("/setup", Setup);
        app.MapGet("/installations", InstallationsAsync);
        app.MapGet("/installations/{id:long}", InstallationAsync);
        app.MapPost("/installations/{id:long}", SaveAsync);
        return app;
    }

    private static IResult Landing(HttpContext context, IAntiforgery antiforgery, string? notice)
    {
        var signedIn = context.GitHubToken() is not null;
        var body = new Html().Raw("<h1>ReviewBot</h1>\n")
            .Raw("<p>ReviewBot reviews your pull requests with the language model you choose (OpenAI, Anthropic or Gemini) and your own API key, ")
            .Raw("and posts its findings as a review with inline comments.</p>\n");
        if (notice == "expired")
        {
            body.Raw("<p class=\"error\" role=\"alert\">Your session has expired. Sign in again to continue.</p>\n");
        }
        else if (notice == "failed")
        {
            body.Raw("<p class=\"error\" role=\"alert\">Signing in with GitHub did not complete. Try again.</p>\n");
        }
        else if (notice == "signedout")
        {
            body.Raw("<p class=\"notice\" role=\"status\">You have signed out.</p>\n");
        }

        body.Raw(signedIn
            ? "<p><a class=\"button\" href=\"/installations\">Your installations</a></p>\n"
            : "<p><a class=\"button\" href=\"/auth/github/login\">Sign in with GitHub</a></p>\n<p>You will see the installations of ReviewBot that your GitHub account can administer.</p>\n");
        return Page(context, "Home", body.ToString(), Token(context, antiforgery, signedIn));
    }

    private static IResult Login(HttpContext context, ReviewBotOptions options, GitHubOAuth oauth, TimeProvider time, string? returnUrl)
    {
        var state = PageSession.StartSignIn(context, PageSession.SafeReturnUrl(returnUrl), Secure(options), time);
        NoStore(context);
        return Results.Redirect(oauth.AuthorizeUrl(state).ToString());
    }

    private static async Task<IResult> CallbackAsync(
        HttpContext context, ReviewBotOptions options, GitHubOAuth oauth, TimeProvider time, ILoggerFactory loggers, string? code, string? state, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger(typeof(PageEndpoints).FullName!);
        NoStore(context);
        var returnUrl = PageSession.FinishSignIn(context, state, Secure(options), time);
        if (returnUrl is null)
        {
            Log.SignInRefused(logger, "state missing, wrong, expired or used");
            return Results.Redirect("/?notice=failed");
        }

        // The user declined on GitHub: GitHub redirects back with error=access_denied and no code.
        if (string.IsNullOrEmpty(code))
        {
            Log.SignInRefused(logger, "no code");
            return Results.Redirect("/?notice=failed");
        }

        var exchange = await oauth.ExchangeCodeAsync(code, cancellationToken);
        if (exchange.Outcome != CodeExchangeOutcome.Token)
        {
            Log.CodeExchangeFailed(logger, exchange.Outcome.ToString(), exchange.Error ?? "");
            return Results.Redirect("/?notice=failed");
        }

        await PageSession.SignInAsync(context, exchange.AccessToken!, exchange.ExpiresIn, time);
        Log.SignedIn(logger);
        return Results.Redirect(returnUrl);
    }

    private static async Task<IResult> LogoutAsync(HttpContext context, IAntiforgery antiforgery, GitHubOAuth oauth, UserInstallationsCache userInstallations)
    {
        NoStore(context);
        var token = context.GitHubToken();
        if (token is not null && !await antiforgery.IsRequestValidAsync(context))
        {
            return ErrorPage(context, antiforgery, StatusCodes.Status400BadRequest, "Form expired", "This form has expired. Reload the page and try again.");
        }

        await PageSession.SignOutAsync(context);
        if (token is not null)
        {
            // The token is revoked at GitHub and forgotten here, so a copy of the session cookie dies
            // with it on its next page (GitHub then rejects the token) instead of living for hours.
            userInstallations.Forget(token);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await oauth.RevokeAsync(token, timeout.Token);
        }

        return Results.Redirect("/?notice=signedout", preserveMethod: false);
    }

    // GitHub sends the installer here after installing or updating the App (the App's Setup URL),
    // with ?installation_id=N&setup_action=install
    // (https://docs.github.com/en/apps/creating-github-apps/registering-a-github-app/about-the-setup-url).
    private static IResult Setup(HttpContext context, string? installation_id)
    {
        NoStore(context);
        var target = long.TryParse(installation_id, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
            ? $"/installations/{id}"
            : "/installations";
        return context.GitHubToken() is null
            ? Results.Redirect("/auth/github/login?returnUrl=" + Uri.EscapeDataString(target))
            : Results.Redirect(target);
    }

    private static async Task<IResult> InstallationsAsync(HttpContext context, IAntiforgery antiforgery, SettingsAccess access, SettingsService settings, CancellationToken cancellationToken)
    {
        var (caller, refusal) = await AuthenticateAsync(context, antiforgery, access, "/installations", cancellationToken);
        if (caller is null)
        {
            return refusal!;
        }

        var installations = await settings.ListInstallationsAsync(caller, cancellationToken);
        return Page(context, "Installations", SettingsPage.InstallationList(installations), Token(context, antiforgery));
    }

    private static async Task<IResult> InstallationAsync(
        long id, HttpContext context, IAntiforgery antiforgery, SettingsAccess access, SettingsService settings, ReviewBotOptions options, string? saved, CancellationToken cancellationToken)
    {
        var (caller, refusal) = await AuthenticateAsync(context, antiforgery, access, $"/installations/{id}", cancellationToken);
        if (caller is null)
        {
            return refusal!;
        }

        if (await settings.GetAsync(caller, id, cancellationToken) is not { } current)
        {
            return NotFoundPage(context, antiforgery);
        }

        var jobs = await settings.ListJobsAsync(caller, id, SettingsService.DefaultJobLimit, cancellationToken) ?? [];
        var form = SettingsForm.From(current);
        var token = Token(context, antiforgery);
        var body = SettingsPage.Installation(id, await AccountAsync(settings, caller, id, cancellationToken), current, form, new FormErrors(), saved == "1", jobs, options.GitHubWebUrl, token);
        return Page(context, $"Installation {id}", body, token, script: true);
    }

    private static async Task<IResult> SaveAsync(
        long id, HttpContext context, IAntiforgery antiforgery, SettingsAccess access, SettingsService settings, ReviewBotOptions options, CancellationToken cancellationToken)
    {
        NoStore(context);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = MaxFormBytes;
        }

        if (!context.Request.HasFormContentType)
        {
            return ErrorPage(context, antiforgery, StatusCodes.Status415UnsupportedMediaType, "Not a form", "Send the settings form.");
        }

        IFormCollection posted;
        try
        {
            posted = await context.Request.ReadFormAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is BadHttpRequestException or InvalidDataException)
        {
            return ErrorPage(context, antiforgery, StatusCodes.Status400BadRequest, "Form too large", "The form was larger than this page ever sends.");
        }

        var form = SettingsForm.From(posted);

        // A session that ended while the form was open: keep what was typed (except the key) and say
        // what to do, without reading or revealing anything about the installation.
        var token = context.GitHubToken();
        var auth = token is null ? default : await access.AuthenticateTokenAsync(token, context.Connection.RemoteIpAddress, cancellationToken);
        if (token is null || auth.Failure == AccessFailure.Unauthenticated)
        {
            await PageSession.SignOutAsync(context);
            var expired = new FormErrors { Session = "Your session has expired, so nothing was saved. Sign in again, then save your changes." };
            return HtmlResult(context, StatusCodes.Status401Unauthorized, Html.Page(
                "Session expired",
                SettingsPage.Installation(id, null, null, form, expired, false, [], options.GitHubWebUrl, antiforgeryToken: null),
                antiforgeryToken: null,
                script: true));
        }

        if (auth.Caller is null)
        {
            return Refused(context, antiforgery, auth);
        }

        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return ErrorPage(context, antiforgery, StatusCodes.Status400BadRequest, "Form expired", "This form has expired. Reload the page and save again.");
        }

        if (!auth.Caller.MaySee(id))
        {
            return NotFoundPage(context, antiforgery);
        }

        var errors = new FormErrors();
        var request = form.ToRequest(errors);
        if (errors.Any)
        {
            return await RedisplayAsync(context, antiforgery, settings, auth.Caller, id, form, errors, options, cancellationToken);
        }

        var result = await settings.SaveAsync(auth.Caller, id, request, cancellationToken);
        switch (result?.Status)
        {
            case null:
                return NotFoundPage(context, antiforgery);
            case SettingsSaveStatus.Saved:
                // Post/Redirect/Get: a reload does not send the form (or the key) again.
                return Results.Redirect($"/installations/{id}?saved=1", preserveMethod: false);
            case SettingsSaveStatus.Invalid:
                errors.AddValidation(result.Errors!);
                break;
            case SettingsSaveStatus.KeyRejected:
                errors.ApiKey = $"The {SettingsForm.ProviderLabel(form.Provider)} API rejected this key, so nothing was saved. Check the key and paste it again.";
                break;
            case SettingsSaveStatus.ProviderUnreachable:
                errors.ApiKey = $"The {SettingsForm.ProviderLabel(form.Provider)} API could not be reached to check this key, so nothing was saved. Try again in a few minutes.";
                break;
            default:
                errors.ApiKey = result.Message;
                break;
        }

        return await RedisplayAsync(context, antiforgery, settings, auth.Caller, id, form, errors, options, cancellationToken);
    }

    private static async Task<IResult> RedisplayAsync(
        HttpContext context, IAntiforgery antiforgery, SettingsService settings, SettingsCaller caller, long id, SettingsForm form, FormErrors errors, ReviewBotOptions options, CancellationToken cancellationToken)
    {
        var current = await settings.GetAsync(caller, id, cancellationToken);
        var jobs = await settings.ListJobsAsync(caller, id, SettingsService.DefaultJobLimit, cancellationToken) ?? [];
        var token = Token(context, antiforgery);
        var body = SettingsPage.Installation(id, await AccountAsync(settings, caller, id, cancellationToken), current, form, errors, false, jobs, options.GitHubWebUrl, token);
        return Page(context, $"Installation {id}", body, token, script: true, status: StatusCodes.Status400BadRequest);
    }

    private static async Task<string?> AccountAsync(SettingsService settings, SettingsCaller caller, long id, CancellationToken cancellationToken) =>
        (await settings.ListInstallationsAsync(caller, cancellationToken)).FirstOrDefault(i => i.Id == id)?.Account;

    private static async Task<(SettingsCaller? Caller, IResult? Refusal)> AuthenticateAsync(
        HttpContext context, IAntiforgery antiforgery, SettingsAccess access, string returnUrl, CancellationToken cancellationToken)
    {
        NoStore(context);
        if (context.GitHubToken() is not { } token)
        {
            return (null, Results.Redirect("/auth/github/login?returnUrl=" + Uri.EscapeDataString(returnUrl)));
        }

        var auth = await access.AuthenticateTokenAsync(token, context.Connection.RemoteIpAddress, cancellationToken);
        if (auth.Caller is not null)
        {
            return (auth.Caller, null);
        }

        if (auth.Failure == AccessFailure.Unauthenticated)
        {
            // GitHub no longer accepts the token (expired or revoked): the session is over.
            await PageSession.SignOutAsync(context);
            return (null, Results.Redirect("/?notice=expired"));
        }

        return (null, Refused(context, antiforgery, auth));
    }

    private static IResult Refused(HttpContext context, IAntiforgery antiforgery, AccessResult auth)
    {
        if (auth.Failure == AccessFailure.TooManyFailures)
        {
            context.Response.Headers.RetryAfter = Math.Ceiling(auth.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return ErrorPage(context, antiforgery, StatusCodes.Status429TooManyRequests, "Too many attempts", "Too many failed sign-in checks from your network. Wait a minute and reload.");
        }

        if (auth.RetryAfter > TimeSpan.Zero)
        {
            // GitHub rate-limited this user's token; ReviewBot will not ask with it before then.
            var seconds = Math.Ceiling(auth.RetryAfter.TotalSeconds);
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            var minutes = Math.Max(1, (int)Math.Ceiling(seconds / 60));
            return ErrorPage(context, antiforgery, StatusCodes.Status502BadGateway, "GitHub unavailable",
                string.Create(CultureInfo.InvariantCulture, $"GitHub is limiting how often your access can be checked. Reload the page in {minutes} minute{(minutes == 1 ? "" : "s")}."));
        }

        return ErrorPage(context, antiforgery, StatusCodes.Status502BadGateway, "GitHub unavailable", "GitHub could not be reached to check your access. Reload the page in a minute.");
    }

    private static IResult NotFoundPage(HttpContext context, IAntiforgery antiforgery) =>
        ErrorPage(context, antiforgery, StatusCodes.Status404NotFound, "Not found", "There is no installation here that your GitHub account can administer.");

    private static IResult ErrorPage(HttpContext context, IAntiforgery antiforgery, int status, string title, string message)
    {
        var body = new Html().Raw("<h1>").Text(title).Raw("</h1>\n<p>").Text(message).Raw("</p>\n<p><a href=\"/installations\">Your installations</a></p>\n");
        return Page(context, title, body.ToString(), Token(context, antiforgery, context.GitHubToken() is not null), status: status);
    }

    // Every page of a session carries an antiforgery token: the settings form and the sign-out form post it.
    private static string? Token(HttpContext context, IAntiforgery antiforgery, bool signedIn = true) =>
        signedIn ? antiforgery.GetAndStoreTokens(context).RequestToken : null;

    private static IResult Page(HttpContext context, string title, string body, string? token, bool script = false, int status = StatusCodes.Status200OK)
    {
        NoStore(context);
        return HtmlResult(context, status, Html.Page(title, body, token, script));
    }

    private static IResult HtmlResult(HttpContext context, int status, string html)
    {
        // Only this site's own stylesheet and script; no framing, no form posting elsewhere.
        context.Response.Headers.ContentSecurityPolicy =
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.Headers["Referrer-Policy"] = "same-origin";
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    private static void NoStore(HttpContext context) => context.Response.Headers.CacheControl = "no-store";

    private static bool Secure(ReviewBotOptions options) => options.PublicUrl!.Scheme == Uri.UriSchemeHttps;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Settings page: a user signed in with GitHub")]
        public static partial void SignedIn(ILogger logger);

        [LoggerMessage(2, LogLevel.Warning, "Settings page: sign-in refused ({Reason})")]
        public static partial void SignInRefused(ILogger logger, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Settings page: GitHub code exchange failed ({Outcome}: {Error})")]
        public static partial void CodeExchangeFailed(ILogger logger, string outcome, string error);
    }
}
