using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace ReviewBot.IntegrationTests.Pages;

// Headless Chromium from Debian's `chromium` package, driven by Playwright for .NET (its bundled
// driver talks to the browser; no browser is ever downloaded). Every test gets a fresh profile
// directory, so no cookie or cache survives from one test to the next.
internal sealed class Browser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly string _profile;

    private Browser(IPlaywright playwright, IBrowserContext context, IPage page, string profile)
    {
        _playwright = playwright;
        Context = context;
        Page = page;
        _profile = profile;
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public static async Task<Browser> LaunchAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            // CI installs it (.ci/run); a developer machine without it skips these tests, saying why.
            Assert.SkipWhen(Environment.GetEnvironmentVariable("CI") is null, $"{ChromiumPath} is missing: apt-get install chromium");
            Assert.Fail($"{ChromiumPath} is missing: .ci/run installs Debian's chromium package");
        }

        var profile = Directory.CreateTempSubdirectory("reviewbot-chromium-").FullName;
        var playwright = await Playwright.CreateAsync();
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            // A phone-sized window: the page must read there (issue 9).
            ViewportSize = new ViewportSize { Width = 412, Height = 915 },
            Timeout = 30_000,
        });
        context.SetDefaultTimeout(15_000);
        var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
        return new Browser(playwright, context, page, profile);
    }

    // axe-core's rules for WCAG 2.x A and AA; "serious" and "critical" findings fail the test.
    public async Task AssertAccessibleAsync(string what)
    {
        var result = await Page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
        });
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(
            serious.Count == 0,
            $"{what}: " + string.Join("\n", serious.Select(v => $"{v.Impact} {v.Id}: {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}")));
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        _playwright.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be flushing its profile; the temp directory is cleaned by the OS.
        }
    }
}
