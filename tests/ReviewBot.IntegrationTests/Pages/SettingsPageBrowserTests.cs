using System.Text.RegularExpressions;
using Microsoft.Playwright;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Pages;

// CONTRACT §9 end to end: headless Chromium against the real binary, real Postgres, and WireMock as
// GitHub (OAuth web flow and REST) and as OpenAI's list-models endpoint.
public sealed class SettingsPageBrowserTests
{
    private static readonly string ScreenshotPath = Path.Combine(TestPaths.RepositoryRoot, "docs", "settings-page.png");

    [Fact]
    public async Task Setup_url_signs_in_with_GitHub_lands_on_that_installation_and_saves_settings_with_a_valid_key()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101, 102);
        await host.Database.ExecuteAsync(
            "INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, pr_title, commit_sha, trigger, dedupe_key, status, conclusion, attempts, error_message) "
            + "VALUES (101, 1, 'org-101/app', 42, 'Add <b>login</b>', 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0', 'opened', 'k1', 'failed', 'failure', 3, 'The OpenAI API key was rejected (401). Update it in the ReviewBot settings.')");
        await using var browser = await Browser.LaunchAsync();
        var page = browser.Page;

        // GitHub's Setup URL → sign-in → GitHub approves → callback → the installation's page.
        await page.GotoAsync(new Uri(host.BaseAddress, "/setup?installation_id=101&setup_action=install").ToString());
        await page.WaitForURLAsync(new Regex("/installations/101$"));
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("org-101");
        var exchange = Assert.Single(host.TokenExchangeBodies);
        Assert.Contains($"client_secret={PagesHost.ClientSecret}", exchange, StringComparison.Ordinal);

        // The session cookie: HttpOnly, SameSite=Lax, not readable by script; not Secure on plain http.
        var session = Assert.Single(await browser.Context.CookiesAsync(), c => c.Name == "reviewbot_session");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, session.SameSite);
        Assert.Equal("", await page.EvaluateAsync<string>("() => document.cookie.split('; ').filter(c => c.startsWith('reviewbot_session')).join('')"));

        // The recent reviews table, with the error in words and the title encoded, not markup.
        var table = page.GetByRole(AriaRole.Table);
        await Assertions.Expect(table).ToContainTextAsync("org-101/app#42");
        await Assertions.Expect(table).ToContainTextAsync("Add <b>login</b>");
        await Assertions.Expect(table).ToContainTextAsync("a1b2c3d");
        await Assertions.Expect(table).ToContainTextAsync("3 of 3");
        await Assertions.Expect(table).ToContainTextAsync("The OpenAI API key was rejected (401).");

        await page.GetByLabel("Provider").SelectOptionAsync("openai");
        await page.GetByLabel("Model").FillAsync("gpt-4o-mini");
        await page.GetByLabel("API key").FillAsync(PagesHost.GoodKey);
        // The live count, as the user types (code points, as the server counts: the emoji is one character).
        await page.GetByLabel("Custom instructions").FillAsync("Focus on security.");
        await page.GetByLabel("Custom instructions").PressSequentiallyAsync(" 🔒");
        await Assertions.Expect(page.Locator("#customInstructions-count")).ToHaveTextAsync("20 of 2000 characters");
        await page.GetByLabel("Custom instructions").FillAsync("Focus on security.");
        await Assertions.Expect(page.Locator("#customInstructions-count")).ToHaveTextAsync("18 of 2000 characters");
        await page.GetByLabel("Ignored paths").FillAsync("docs/**\n*.snap");
        await page.GetByLabel("Review draft pull requests too").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Settings saved.");
        await Assertions.Expect(page.Locator("#apiKey-hint")).ToContainTextAsync("A key ending in " + PagesHost.GoodKey[^4..] + " is saved");
        await Assertions.Expect(page.GetByLabel("API key")).ToHaveValueAsync("");
        await Assertions.Expect(page.GetByLabel("Custom instructions")).ToHaveValueAsync("Focus on security.");
        await Assertions.Expect(page.GetByLabel("Review draft pull requests too")).ToBeCheckedAsync();

        Assert.Equal("openai", await host.Database.ScalarAsync<string>("SELECT llm_provider FROM installation_settings WHERE installation_id = 101"));
        Assert.Equal(new[] { "docs/**", "*.snap" }, await host.Database.ScalarAsync<string[]>("SELECT ignore_paths FROM installation_settings WHERE installation_id = 101"));
        Assert.True(await host.Database.ScalarAsync<bool>("SELECT review_drafts FROM installation_settings WHERE installation_id = 101"));
        var sealedKey = await host.Database.ScalarAsync<string>("SELECT api_key_encrypted FROM installation_settings WHERE installation_id = 101");
        Assert.DoesNotContain(PagesHost.GoodKey, sealedKey, StringComparison.Ordinal);

        Directory.CreateDirectory(Path.GetDirectoryName(ScreenshotPath)!);
        await page.SetViewportSizeAsync(900, 1400);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath, FullPage = true });
    }

    [Fact]
    public async Task Rejected_key_unreachable_provider_too_long_instructions_and_expired_session_are_shown_next_to_the_field_keeping_the_typed_values()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101);
        await using var browser = await Browser.LaunchAsync();
        var page = browser.Page;
        await page.GotoAsync(new Uri(host.BaseAddress, "/installations/101").ToString());
        await page.WaitForURLAsync(new Regex("/installations/101$"));

        // A key the provider refuses: the error sits next to the key field; what was typed stays, except the key.
        await page.GetByLabel("Model").FillAsync("gpt-4o");
        await page.GetByLabel("API key").FillAsync(PagesHost.BadKey);
        await page.GetByLabel("Custom instructions").FillAsync("Be brief.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(page.Locator("#apiKey-error")).ToContainTextAsync("The OpenAI API rejected this key");
        await Assertions.Expect(page.GetByLabel("API key")).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(page.GetByLabel("API key")).ToHaveValueAsync("");
        await Assertions.Expect(page.GetByLabel("Model")).ToHaveValueAsync("gpt-4o");
        await Assertions.Expect(page.GetByLabel("Custom instructions")).ToHaveValueAsync("Be brief.");
        await browser.AssertAccessibleAsync("settings form with an error");

        // The provider cannot be reached (Gemini's base URL has no listener).
        await page.GetByLabel("Provider").SelectOptionAsync("gemini");
        await page.GetByLabel("Model").FillAsync("gemini-2.5-flash");
        await page.GetByLabel("API key").FillAsync("AIzaSy-test-key-0000000000");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(page.Locator("#apiKey-error")).ToContainTextAsync("could not be reached");
        await Assertions.Expect(page.GetByLabel("Provider")).ToHaveValueAsync("gemini");

        // Over 2,000 characters: the live count says so, and the server refuses next to the field.
        await page.GetByLabel("Custom instructions").FillAsync(new string('x', 2001));
        await Assertions.Expect(page.Locator("#customInstructions-count")).ToHaveTextAsync("2001 of 2000 characters (1 too many)");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(page.Locator("#customInstructions-error")).ToContainTextAsync("Custom instructions must be at most 2000 characters");
        await Assertions.Expect(page.GetByLabel("Custom instructions")).ToHaveValueAsync(new string('x', 2001));
        Assert.Equal(0L, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings WHERE installation_id = 101"));

        // The session cookie runs out while the form is open: nothing is saved, the typed form stays.
        await page.GetByLabel("Custom instructions").FillAsync("Typed before the session ended.");
        await browser.Context.ClearCookiesAsync(new() { Name = "reviewbot_session" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Your session has expired");
        await Assertions.Expect(page.GetByLabel("Custom instructions")).ToHaveValueAsync("Typed before the session ended.");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Sign in with GitHub" })).ToBeVisibleAsync();
        Assert.DoesNotContain(await browser.Context.CookiesAsync(), c => c.Name == "reviewbot_session");
        Assert.Equal(0L, await host.Database.ScalarAsync<long>("SELECT count(*) FROM installation_settings WHERE installation_id = 101"));
    }

    [Fact]
    public async Task Another_users_installation_is_404_the_list_shows_only_what_GitHub_lists_and_sign_out_ends_the_session()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101);
        host.GitHubLists("bob", 202);
        await host.Database.ExecuteAsync("INSERT INTO installations (id, account_login, account_type) VALUES (202, 'bobs-org', 'Organization')");
        await using var browser = await Browser.LaunchAsync();
        var page = browser.Page;

        await page.GotoAsync(host.BaseAddress.ToString());
        await browser.AssertAccessibleAsync("landing page");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with GitHub" }).ClickAsync();
        // Not WaitForURLAsync: it reads the URL and only then subscribes to navigations, so a redirect
        // chain that commits in between is never seen (a 15 s timeout under load, twice in CI). The
        // expectation polls the URL instead.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/installations$"));
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "org-101" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Main)).Not.ToContainTextAsync("bobs-org");
        await browser.AssertAccessibleAsync("installation list");

        foreach (var path in new[] { "/installations/202", "/installations/999999" })
        {
            var response = await page.GotoAsync(new Uri(host.BaseAddress, path).ToString());
            Assert.Equal(404, response!.Status);
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Not found");
            Assert.DoesNotContain("bobs-org", await page.ContentAsync(), StringComparison.Ordinal);
        }

        await browser.AssertAccessibleAsync("not found page");

        // Sign out is a form POST with its antiforgery token; afterwards the pages ask for sign-in again.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("You have signed out.");
        Assert.DoesNotContain(await browser.Context.CookiesAsync(), c => c.Name == "reviewbot_session");
        var exchangesBefore = host.TokenExchangeBodies.Count();
        host.SignInAs = "bob";
        await page.GotoAsync(new Uri(host.BaseAddress, "/installations/202").ToString());
        await page.WaitForURLAsync(new Regex("/installations/202$"));
        Assert.Equal(exchangesBefore + 1, host.TokenExchangeBodies.Count());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("org-202");
    }

    [Fact]
    public async Task The_api_key_never_appears_in_any_page_after_saving()
    {
        await using var host = await PagesHost.StartAsync();
        host.GitHubLists("alice", 101);
        await using var browser = await Browser.LaunchAsync();
        var page = browser.Page;
        var seen = new List<string>();
        var reads = new System.Collections.Concurrent.ConcurrentQueue<Task<string>>();
        // Every document and asset the browser received, headers and body, read as it arrives without
        // blocking Playwright's event loop. Redirects have no body.
        page.Response += (_, response) => reads.Enqueue(ReadAsync(response));

        await page.GotoAsync(new Uri(host.BaseAddress, "/installations/101").ToString());
        await page.WaitForURLAsync(new Regex("/installations/101$"));
        await page.GetByLabel("Model").FillAsync("gpt-4o-mini");
        await page.GetByLabel("API key").FillAsync(PagesHost.GoodKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Settings saved.");
        seen.Add(await page.ContentAsync());
        await browser.AssertAccessibleAsync("settings form");

        // A failed save re-renders the form: the stored key must not come back there either.
        await page.GetByLabel("Model").FillAsync("not a model!");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(page.Locator("#model-error")).ToBeVisibleAsync();
        seen.Add(await page.ContentAsync());

        foreach (var path in new[] { "/", "/installations", "/installations/101", "/installations/101?saved=1", "/installations/202" })
        {
            await page.GotoAsync(new Uri(host.BaseAddress, path).ToString());
            seen.Add(await page.ContentAsync());
        }

        seen.AddRange(await Task.WhenAll(reads.ToArray()));
        Assert.True(reads.Count > 8);
        foreach (var text in seen)
        {
            Assert.DoesNotContain(PagesHost.GoodKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(PagesHost.GoodKey[..^4], text, StringComparison.Ordinal);
        }

        foreach (var cookie in await browser.Context.CookiesAsync())
        {
            Assert.DoesNotContain(PagesHost.GoodKey, cookie.Value, StringComparison.Ordinal);
            Assert.DoesNotContain(PagesHost.TokenOf("alice"), cookie.Value, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(PagesHost.GoodKey, string.Join('\n', host.Process.StandardOutput), StringComparison.Ordinal);
    }

    private static async Task<string> ReadAsync(IResponse response)
    {
        var headers = string.Join('\n', (await response.AllHeadersAsync()).Select(h => $"{h.Key}: {h.Value}"));
        try
        {
            return headers + "\n" + await response.TextAsync();
        }
        catch (PlaywrightException) when (response.Status is >= 300 and < 400)
        {
            return headers;
        }
    }
}
