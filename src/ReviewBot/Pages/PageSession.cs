using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;

namespace ReviewBot.Pages;

// The browser session of the settings page: the framework's cookie authentication, its ticket
// protected by ConfiguredDataProtectionProvider (AES-GCM), so the GitHub user token it carries is
// sealed in the HttpOnly cookie and never reaches page script.
internal static class PageSession
{
    public const string Scheme = "ReviewBotSession";
    public const string CookieName = "reviewbot_session";
    public const string StateCookieName = "reviewbot_oauth";
    public const string AntiforgeryCookieName = "reviewbot_af";
    public const string AntiforgeryFieldName = "__RequestVerificationToken";

    // GitHub App user access tokens expire after eight hours unless the App opted out
    // (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens);
    // the session never outlives the token it carries.
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(8);

    // The one-time state of a sign-in in flight: the user has this long to approve on GitHub.
    public static readonly TimeSpan StateLifetime = TimeSpan.FromMinutes(10);

    private const string TokenClaim = "reviewbot:github_token";
    private const string StatePurpose = "ReviewBot.Pages.OAuthState";

    public static string? GitHubToken(this HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? context.User.FindFirst(TokenClaim)?.Value : null;

    public static async Task SignInAsync(HttpContext context, string gitHubToken, TimeSpan? tokenLifetime, TimeProvider time)
    {
        var identity = new ClaimsIdentity([new Claim(TokenClaim, gitHubToken)], Scheme);
        var lifetime = tokenLifetime is { } t && t < MaxLifetime ? t : MaxLifetime;
        await context.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties
        {
            IsPersistent = false,
            ExpiresUtc = time.GetUtcNow() + lifetime,
            AllowRefresh = false,
        });
    }

    public static Task SignOutAsync(HttpContext context) => context.SignOutAsync(Scheme);

    // The state cookie holds "state\nreturnUrl\nexpiry", sealed: the browser cannot read or forge it,
    // and the callback accepts a state only when it equals the one sealed in this browser's cookie.
    public static string StartSignIn(HttpContext context, string returnUrl, bool secure, TimeProvider time)
    {
        var state = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expires = time.GetUtcNow() + StateLifetime;
        var plain = Encoding.UTF8.GetBytes($"{state}\n{returnUrl}\n{expires.ToUnixTimeSeconds()}");
        var sealedValue = Protector(context).Protect(plain);
        context.Response.Cookies.Append(StateCookieName, Base64Url(sealedValue), new CookieOptions
        {
            HttpOnly = true,
            Secure = secure,
            // Lax: sent on GitHub's top-level redirect back to the callback, never on cross-site subrequests.
            SameSite = SameSiteMode.Lax,
            Path = GitHubOAuth.CallbackPath,
            MaxAge = StateLifetime,
        });
        return state;
    }

    // The return URL of the sign-in this state belongs to, or null when the state is missing, wrong,
    // expired or already used (the cookie is deleted on the first callback, whatever its outcome).
    public static string? FinishSignIn(HttpContext context, string? state, bool secure, TimeProvider time)
    {
        var cookie = context.Request.Cookies[StateCookieName];
        context.Response.Cookies.Delete(StateCookieName, new CookieOptions { Path = GitHubOAuth.CallbackPath, Secure = secure, HttpOnly = true, SameSite = SameSiteMode.Lax });
        if (string.IsNullOrEmpty(cookie) || string.IsNullOrEmpty(state))
        {
            return null;
        }

        string[] parts;
        try
        {
            parts = Encoding.UTF8.GetString(Protector(context).Unprotect(FromBase64Url(cookie))).Split('\n');
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            return null;
        }

        if (parts.Length != 3
            || !long.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out var expiry)
            || time.GetUtcNow().ToUnixTimeSeconds() > expiry
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(parts[0]), Encoding.UTF8.GetBytes(state)))
        {
            return null;
        }

        return parts[1];
    }

    // Only a path on this site: never "//host" or "/\host", which browsers treat as another origin.
    public static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 and < 200 } url && url[0] == '/' && (url.Length == 1 || url[1] is not '/' and not '\\') && !url.Any(char.IsControl)
            ? url
            : "/installations";

    private static IDataProtector Protector(HttpContext context) =>
        context.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector(StatePurpose);

    private static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s + new string('=', (4 - (s.Length % 4)) % 4));
    }
}
