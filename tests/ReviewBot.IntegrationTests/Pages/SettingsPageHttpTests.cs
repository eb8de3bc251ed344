using System.Net;
using System.Text.RegularExpressions;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Pages;

// The settings page's security rules over plain HTTP, where a browser would hide them: cookie
// attributes, the one-time state, the antiforgery token, and the page being off unless configured.
public sealed partial class SettingsPageHttpTests
{
    [Fact]
    public async Task Without_the_OAuth_configuration_the_page_routes_are_404_and_the_api_works_as_before()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var app = await TestApp.StartAsync(TestApp.Options(db.ConnectionString));
        var ct = TestContext.Current.CancellationToken;
        foreach (var path in new[] { "/", "/auth/github/login", "/auth/github/callback?code=x&state=y", "/setup?installation_id=1", "/installations", "/installations/1", "/assets/site.css" })
        {
            using var response = await app.Client.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var logout = await app.Client.PostAsync("/auth/logout", null, ct);
        Assert.Equal(HttpStatusCode.NotFound, logout.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/installations");
        request.Headers.Authorization = new("Bearer", TestKeys.AdminToken);
        using var api = await app.Client.SendAsync(request, ct);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }

    [Fact]
    public async Task Behind_an_https_PUBLIC_URL_the_state_cookie_is_Secure_HttpOnly_and_Lax_and_the_redirect_goes_to_GitHub_with_state()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var app = await TestApp.StartAsync(TestApp.Options(db.ConnectionString, o => o with
        {
            GitHubClientId = PagesHost.ClientId,
            GitHubClientSecret = PagesHost.ClientSecret,
            PublicUrl = new Uri("https://reviewbot.example.com"),
            GitHubWebUrl = new Uri("https://github.example.com/"),
        }));
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = app.BaseAddress };
        var ct = TestContext.Current.CancellationToken;

        using var login = await client.GetAsync("/auth/github/login?returnUrl=%2Finstallations%2F7", ct);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var location = login.Headers.Location!;
        Assert.StartsWith("https://github.example.com/login/oauth/authorize?", location.ToString(), StringComparison.Ordinal);
        var query = System.Web.HttpUtility.ParseQueryString(location.Query);
        Assert.Equal(PagesHost.ClientId, query["client_id"]);
        Assert.Equal("https://reviewbot.example.com/auth/github/callback", query["redirect_uri"]);
        Assert.True(query["state"]!.Length >= 43);

        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("reviewbot_oauth=", cookie, StringComparison.Ordinal);
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(query["state"]!, cookie, StringComparison.Ordinal);

        // A second sign-in gets a different state.
        using var again = await client.GetAsync("/auth/github/login", ct);
        Assert.NotEqual(query["state"], System.Web.HttpUtility.ParseQueryString(again.Headers.Location!.Query)["state"]);
    }

    // The deployment the README describes: TLS ends at a reverse proxy, which talks plain HTTP to
    // ReviewBot, and PUBLIC_URL is https. Antiforgery refuses a Secure cookie on a request it takes
    // for http, which made every signed-in page a 500. Cookies are carried by hand here, as the
    // browser would over https.
    [Fact]
    public async Task Behind_a_TLS_terminating_proxy_the_signed_in_pages_work_and_their_cookies_are_Secure()
    {
        await using var host = await PagesHost.StartAsync("https://reviewbot.example.com");
        host.GitHubLists("alice", 101);
        var ct = TestContext.Current.CancellationToken;
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = host.BaseAddress };

        using var login = await client.GetAsync("/auth/github/login", ct);
        var state = CookiePair(login, "reviewbot_oauth");
        using var authorize = await client.GetAsync(login.Headers.Location, ct);
        var callbackUrl = authorize.Headers.Location!;
        Assert.Equal("reviewbot.example.com", callbackUrl.Host);

        using var callbackRequest = new HttpRequestMessage(HttpMethod.Get, callbackUrl.PathAndQuery);
        callbackRequest.Headers.Add("Cookie", state);
        using var callback = await client.SendAsync(callbackRequest, ct);
        Assert.Equal("/installations", callback.Headers.Location!.ToString());
        var session = CookiePair(callback, "reviewbot_session");

        using var pageRequest = new HttpRequestMessage(HttpMethod.Get, "/installations/101");
        pageRequest.Headers.Add("Cookie", session);
        using var page = await client.SendAsync(pageRequest, ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var token = AntiforgeryToken().Match(await page.Content.ReadAsStringAsync(ct)).Groups[1].Value;
        var antiforgery = CookiePair(page, "reviewbot_af");

        // And the form saves.
        using var saveRequest = new HttpRequestMessage(HttpMethod.Post, "/installations/101")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["enabled"] = "on", ["llmProvider"] = "openai", ["model"] = "gpt-4o-mini", ["apiKey"] = PagesHost.GoodKey,
                ["__RequestVerificationToken"] = System.Net.WebUtility.HtmlDecode(token),
            }),
        };
        saveRequest.Headers.Add("Cookie", $"{session}; {antiforgery}");
        using var saved = await client.SendAsync(saveRequest, ct);
        Assert.Equal("/installations/101?saved=1", saved.Headers.Location?.ToString());
        Assert.Equal(1L, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings WHERE installation_id = 101"));
    }

    // The session is a sealed cookie, not a server-side record: signing out revokes the GitHub token
    // (and forgets its cached listing), so a copy of the cookie taken before is dead on its next page.
    [Fact]
    public async Task Signing_out_revokes_the_token_so_a_copied_session_cookie_stops_working()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101);
        var ct = TestContext.Current.CancellationToken;
        using var client = NewClient(host, out var cookies);
        await SignInAsync(client, ct);
        var copied = cookies.GetAllCookies().Single(c => c.Name == "reviewbot_session").Value;
        var token = AntiforgeryToken().Match(await client.GetStringAsync("/installations", ct)).Groups[1].Value;

        using var logout = await client.PostAsync("/auth/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = System.Net.WebUtility.HtmlDecode(token) }), ct);
        Assert.Equal("/?notice=signedout", logout.Headers.Location!.ToString());
        Assert.Single(host.Fake.LogEntries, e => e.RequestMessage.Method == "DELETE" && e.RequestMessage.Path == $"/applications/{PagesHost.ClientId}/token");

        using var thief = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = host.BaseAddress };
        using var replay = new HttpRequestMessage(HttpMethod.Get, "/installations/101");
        replay.Headers.Add("Cookie", $"reviewbot_session={copied}");
        using var replayed = await thief.SendAsync(replay, ct);
        Assert.NotEqual(HttpStatusCode.OK, replayed.StatusCode);
        Assert.DoesNotContain("Custom instructions", await replayed.Content.ReadAsStringAsync(ct), StringComparison.OrdinalIgnoreCase);
    }

    private static string CookiePair(HttpResponseMessage response, string name)
    {
        var header = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(name + "=", StringComparison.Ordinal));
        Assert.Contains("secure", header, StringComparison.OrdinalIgnoreCase);
        return header.Split(';')[0];
    }

    [Fact]
    public async Task A_callback_with_a_wrong_missing_or_reused_state_starts_no_session_and_exchanges_no_code()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101);
        var ct = TestContext.Current.CancellationToken;
        using var client = NewClient(host, out var cookies);

        using var login = await client.GetAsync("/auth/github/login", ct);
        var state = System.Web.HttpUtility.ParseQueryString(login.Headers.Location!.Query)["state"]!;

        foreach (var forged in new[] { "/auth/github/callback?code=c1&state=forged", "/auth/github/callback?code=c1" })
        {
            using var refused = await client.GetAsync(forged, ct);
            Assert.Equal("/?notice=failed", refused.Headers.Location!.ToString());
        }

        // The wrong state above already spent the state cookie: the real state no longer works either.
        using var late = await client.GetAsync($"/auth/github/callback?code=c1&state={Uri.EscapeDataString(state)}", ct);
        Assert.Equal("/?notice=failed", late.Headers.Location!.ToString());
        Assert.Empty(host.TokenExchangeBodies);
        Assert.DoesNotContain(cookies.GetAllCookies(), c => c.Name == "reviewbot_session");

        using var anonymous = await client.GetAsync("/installations/101", ct);
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.Equal("/auth/github/login?returnUrl=%2Finstallations%2F101", anonymous.Headers.Location!.ToString());
    }

    [Fact]
    public async Task Saving_or_signing_out_without_the_antiforgery_token_is_refused_and_changes_nothing()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101);
        var ct = TestContext.Current.CancellationToken;
        using var client = NewClient(host, out var cookies);
        await SignInAsync(client, ct);

        var page = await client.GetStringAsync("/installations/101", ct);
        var token = AntiforgeryToken().Match(page).Groups[1].Value;
        Assert.NotEmpty(token);
        var fields = new Dictionary<string, string> { ["enabled"] = "on", ["llmProvider"] = "openai", ["model"] = "gpt-4o-mini", ["apiKey"] = PagesHost.GoodKey };

        using var without = await client.PostAsync("/installations/101", new FormUrlEncodedContent(fields), ct);
        Assert.Equal(HttpStatusCode.BadRequest, without.StatusCode);
        using var forged = await client.PostAsync("/installations/101", new FormUrlEncodedContent(new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = token[..^4] + "AAAA" }), ct);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using var logout = await client.PostAsync("/auth/logout", new FormUrlEncodedContent([]), ct);
        Assert.Equal(HttpStatusCode.BadRequest, logout.StatusCode);
        Assert.Equal(0L, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings"));
        Assert.Contains(cookies.GetAllCookies(), c => c.Name == "reviewbot_session");

        using var saved = await client.PostAsync("/installations/101", new FormUrlEncodedContent(new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = token }), ct);
        Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
        Assert.Equal("/installations/101?saved=1", saved.Headers.Location!.ToString());
        Assert.Equal(1L, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings WHERE installation_id = 101"));

        // The same form, another installation: 404 like one that does not exist, nothing stored.
        using var other = await client.PostAsync("/installations/202", new FormUrlEncodedContent(new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = token }), ct);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(1L, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings"));
    }

    [Fact]
    public async Task A_token_GitHub_no_longer_accepts_ends_the_session_and_a_pending_save_keeps_what_was_typed_except_the_key()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101);
        var ct = TestContext.Current.CancellationToken;
        using var client = NewClient(host, out var cookies);
        await SignInAsync(client, ct);
        // Revoked before GitHub was ever asked, so no cached listing keeps it alive.
        host.GitHubRevokes("alice");

        using var save = await client.PostAsync("/installations/101", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["llmProvider"] = "anthropic", ["model"] = "claude-sonnet-4-5", ["apiKey"] = PagesHost.GoodKey, ["customInstructions"] = "Typed <by> hand",
            ["__RequestVerificationToken"] = "irrelevant",
        }), ct);
        Assert.Equal(HttpStatusCode.Unauthorized, save.StatusCode);
        var html = await save.Content.ReadAsStringAsync(ct);
        Assert.Contains("Your session has expired", html, StringComparison.Ordinal);
        Assert.Contains("Typed &lt;by&gt; hand</textarea>", html, StringComparison.Ordinal);
        Assert.Contains("value=\"claude-sonnet-4-5\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain(PagesHost.GoodKey, html, StringComparison.Ordinal);
        Assert.DoesNotContain(cookies.GetAllCookies(), c => c.Name == "reviewbot_session" && !c.Expired);
        Assert.Equal(0L, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings"));

        using var page = await client.GetAsync("/installations", ct);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/auth/github/login", page.Headers.Location!.ToString(), StringComparison.Ordinal);

        // Signed in again with a token GitHub refuses: any page ends the session and says so.
        await SignInAsync(client, ct);
        using var refused = await client.GetAsync("/installations/101", ct);
        Assert.Equal("/?notice=expired", refused.Headers.Location!.ToString());
        Assert.DoesNotContain(cookies.GetAllCookies(), c => c.Name == "reviewbot_session" && !c.Expired);
        Assert.Contains("Your session has expired", await client.GetStringAsync("/?notice=expired", ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_GitHub_rate_limits_gets_a_page_saying_when_to_come_back_and_GitHub_is_not_asked_again_meanwhile()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101);
        host.GitHubRateLimits("alice", seconds: 150);
        var ct = TestContext.Current.CancellationToken;
        using var client = NewClient(host, out _);
        await SignInAsync(client, ct);

        using var page = await client.GetAsync("/installations/101", ct);
        Assert.Equal(HttpStatusCode.BadGateway, page.StatusCode);
        Assert.InRange(page.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 140, 152);
        Assert.Contains("Reload the page in 3 minutes.", await page.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        // The session stays (the token is fine, only limited), and GitHub is not asked again before the reset.
        using var again = await client.GetAsync("/installations", ct);
        Assert.Equal(HttpStatusCode.BadGateway, again.StatusCode);
        Assert.Equal(1, host.InstallationListings);
    }

    private static HttpClient NewClient(PagesHost host, out CookieContainer cookies)
    {
        cookies = new CookieContainer();
        return new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies }) { BaseAddress = host.BaseAddress };
    }

    // Follows the OAuth redirects by hand: login → fake GitHub authorize → callback.
    private static async Task SignInAsync(HttpClient client, CancellationToken ct)
    {
        using var login = await client.GetAsync("/auth/github/login", ct);
        using var authorize = await client.GetAsync(login.Headers.Location, ct);
        using var callback = await client.GetAsync(authorize.Headers.Location, ct);
        Assert.Equal("/installations", callback.Headers.Location!.ToString());
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}
