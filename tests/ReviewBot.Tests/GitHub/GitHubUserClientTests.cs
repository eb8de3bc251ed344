using ReviewBot.GitHub;

namespace ReviewBot.Tests.GitHub;

public sealed class GitHubUserClientTests
{
    private static readonly Uri ApiBase = new("https://ghe.example.com/api/v3/");

    private static Uri? Next(string link)
    {
        using var response = new HttpResponseMessage();
        response.Headers.TryAddWithoutValidation("Link", link);
        return GitHubUserClient.NextPage(response, ApiBase);
    }

    [Fact]
    public void NextPage_follows_rel_next_on_the_api_host()
    {
        var next = Next("<https://ghe.example.com/api/v3/user/installations?per_page=100&page=2>; rel=\"next\", <https://ghe.example.com/api/v3/user/installations?per_page=100&page=5>; rel=\"last\"");
        Assert.Equal("https://ghe.example.com/api/v3/user/installations?per_page=100&page=2", next?.ToString());
    }

    [Fact]
    public void NextPage_is_null_on_the_last_page()
    {
        Assert.Null(Next("<https://ghe.example.com/api/v3/user/installations?page=1>; rel=\"prev\", <https://ghe.example.com/api/v3/user/installations?page=1>; rel=\"first\""));
    }

    [Fact]
    public void NextPage_never_sends_the_token_to_another_host()
    {
        Assert.Null(Next("<https://attacker.example.net/api/v3/user/installations?page=2>; rel=\"next\""));
    }
}
