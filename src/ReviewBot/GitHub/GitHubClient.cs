using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using ReviewBot.Upstream;

namespace ReviewBot.GitHub;

// Everything a review job asks of GitHub, as the installation (installation access token). Each
// method takes the installation id and "owner/repo" and answers with a GitHubResult; a 401 drops
// the cached token and the call is made once more with a fresh one.
internal sealed class GitHubClient(GitHubRest rest, InstallationTokenCache tokens)
{
    // GitHub's limit on GET …/pulls/{n}/files ("List pull requests files": at most 3000 files).
    public const int MaxPullRequestFiles = 3000;
    private const int MaxReviewPages = 100;

    // "Create a check run": summary and text take at most 65535 characters, says the reference; GitHub
    // in fact counts UTF-8 bytes ("summary exceeds a maximum bytesize of 65535", github/docs#35252), so
    // a summary of non-ASCII paths within the character limit still got a 422. Title: 255 characters.
    public const int MaxCheckRunOutputBytes = 65535;
    private const string TruncatedNote = "\n\n… (truncated to fit GitHub's 65,535-byte limit)";

    // "Get a pull request": GET /repos/{owner}/{repo}/pulls/{pull_number}.
    public Task<GitHubResult<PullRequest>> GetPullRequestAsync(long installationId, string repo, int pullNumber, CancellationToken cancellationToken) =>
        SendAsync(installationId, "get_pull_request", GitHubCallClass.Read, HttpMethod.Get, $"{RepoPath(repo)}/pulls/{Number(pullNumber)}", null,
            GitHubRest.Json(GitHubJsonContext.Default.PullRequest), cancellationToken);

    // The pull request as one unified diff ("Get a pull request" with the diff media type,
    // "Media types" → application/vnd.github.diff). GitHub refuses very large diffs (406/422, as
    // Unprocessable); the files list is the fallback.
    public Task<GitHubResult<string>> GetPullRequestDiffAsync(long installationId, string repo, int pullNumber, CancellationToken cancellationToken) =>
        SendAsync(installationId, "get_pull_request_diff", GitHubCallClass.Read, HttpMethod.Get, rest.Resolve($"{RepoPath(repo)}/pulls/{Number(pullNumber)}"), null,
            static (response, ct) => response.Content.ReadAsStringAsync(ct), cancellationToken, accept: "application/vnd.github.diff");

    // "List pull requests files": 100 per page, at most 3000 files in all (GitHub stops there).
    public async Task<GitHubResult<IReadOnlyList<PullRequestFile>>> ListPullRequestFilesAsync(long installationId, string repo, int pullNumber, CancellationToken cancellationToken)
    {
        var files = new List<PullRequestFile>();
        Uri? next = rest.Resolve($"{RepoPath(repo)}/pulls/{Number(pullNumber)}/files?per_page=100");
        while (next is not null && files.Count < MaxPullRequestFiles)
        {
            var page = await SendAsync(installationId, "list_pull_request_files", GitHubCallClass.Read, HttpMethod.Get, next, null,
                GitHubPage<PullRequestFile>.Reader(GitHubJsonContext.Default.ListPullRequestFile), cancellationToken);
            if (!page.IsOk)
            {
                return page.As<IReadOnlyList<PullRequestFile>>();
            }

            files.AddRange(page.Value!.Items);
            next = page.Value.Items.Count == 0 ? null : page.Value.Next;
        }

        return GitHubResult<IReadOnlyList<PullRequestFile>>.Ok(files.Count > MaxPullRequestFiles ? files.GetRange(0, MaxPullRequestFiles) : files);
    }

    // "Compare two commits": GET /repos/{owner}/{repo}/compare/{base}...{head}. Without pagination
    // GitHub returns up to 250 commits and up to 300 files, which is what an incremental review needs.
    public Task<GitHubResult<CompareResult>> CompareCommitsAsync(long installationId, string repo, string baseSha, string headSha, CancellationToken cancellationToken) =>
        SendAsync(installationId, "compare_commits", GitHubCallClass.Read, HttpMethod.Get,
            $"{RepoPath(repo)}/compare/{Uri.EscapeDataString(baseSha)}...{Uri.EscapeDataString(headSha)}", null,
            GitHubRest.Json(GitHubJsonContext.Default.CompareResult), cancellationToken);

    // "List reviews for a pull request", every page: the marker check must see all reviews.
    public async Task<GitHubResult<IReadOnlyList<PullRequestReview>>> ListReviewsAsync(long installationId, string repo, int pullNumber, CancellationToken cancellationToken)
    {
        var reviews = new List<PullRequestReview>();
        Uri? next = rest.Resolve($"{RepoPath(repo)}/pulls/{Number(pullNumber)}/reviews?per_page=100");
        for (var pages = 0; next is not null && pages < MaxReviewPages; pages++)
        {
            var page = await SendAsync(installationId, "list_reviews", GitHubCallClass.Read, HttpMethod.Get, next, null,
                GitHubPage<PullRequestReview>.Reader(GitHubJsonContext.Default.ListPullRequestReview), cancellationToken);
            if (!page.IsOk)
            {
                return page.As<IReadOnlyList<PullRequestReview>>();
            }

            reviews.AddRange(page.Value!.Items);
            next = page.Value.Items.Count == 0 ? null : page.Value.Next;
        }

        return GitHubResult<IReadOnlyList<PullRequestReview>>.Ok(reviews);
    }

    // "Create a review for a pull request". A comment on a line outside the diff makes GitHub answer
    // 422 for the whole review, which comes back as Unprocessable with GitHub's message.
    public Task<GitHubResult<PullRequestReview>> CreateReviewAsync(long installationId, string repo, int pullNumber, CreateReviewRequest review, CancellationToken cancellationToken) =>
        SendAsync(installationId, "create_review", GitHubCallClass.Create, HttpMethod.Post, $"{RepoPath(repo)}/pulls/{Number(pullNumber)}/reviews",
            () => GitHubRest.JsonBody(review, GitHubJsonContext.Default.CreateReviewRequest),
            GitHubRest.Json(GitHubJsonContext.Default.PullRequestReview), cancellationToken);

    // "Create a check run" (needs the checks:write permission).
    public Task<GitHubResult<CheckRun>> CreateCheckRunAsync(long installationId, string repo, CreateCheckRunRequest checkRun, CancellationToken cancellationToken)
    {
        var body = checkRun with { Output = Truncate(checkRun.Output) };
        return SendAsync(installationId, "create_check_run", GitHubCallClass.Create, HttpMethod.Post, $"{RepoPath(repo)}/check-runs",
            () => GitHubRest.JsonBody(body, GitHubJsonContext.Default.CreateCheckRunRequest),
            GitHubRest.Json(GitHubJsonContext.Default.CheckRun), cancellationToken);
    }

    // "List check runs for a Git reference", filtered to ReviewBot's check: how a retry finds the check
    // run an earlier attempt created but could not record (crash or lost answer between the two).
    public Task<GitHubResult<CheckRunList>> ListCheckRunsForCommitAsync(long installationId, string repo, string sha, string checkName, CancellationToken cancellationToken) =>
        SendAsync(installationId, "list_check_runs", GitHubCallClass.Read, HttpMethod.Get,
            $"{RepoPath(repo)}/commits/{Uri.EscapeDataString(sha)}/check-runs?check_name={Uri.EscapeDataString(checkName)}&filter=all&per_page=100", null,
            GitHubRest.Json(GitHubJsonContext.Default.CheckRunList), cancellationToken);

    // "Update a check run": a retried job updates the same check run (CONTRACT §4).
    public Task<GitHubResult<CheckRun>> UpdateCheckRunAsync(long installationId, string repo, long checkRunId, UpdateCheckRunRequest update, CancellationToken cancellationToken)
    {
        var body = update with { Output = Truncate(update.Output) };
        return SendAsync(installationId, "update_check_run", GitHubCallClass.IdempotentWrite, HttpMethod.Patch,
            $"{RepoPath(repo)}/check-runs/{checkRunId.ToString(CultureInfo.InvariantCulture)}",
            () => GitHubRest.JsonBody(body, GitHubJsonContext.Default.UpdateCheckRunRequest),
            GitHubRest.Json(GitHubJsonContext.Default.CheckRun), cancellationToken);
    }

    public static CheckRunOutput? Truncate(CheckRunOutput? output) => output is null ? null : output with
    {
        Title = TruncateCharacters(output.Title, 255),
        Summary = TruncateUtf8(output.Summary, MaxCheckRunOutputBytes)!,
        Text = TruncateUtf8(output.Text, MaxCheckRunOutputBytes),
    };

    private static string TruncateCharacters(string text, int limit)
    {
        if (text.Length <= limit)
        {
            return text;
        }

        var cut = char.IsHighSurrogate(text[limit - 1]) ? limit - 1 : limit;
        return text[..cut];
    }

    // The longest prefix that, with the note, fits in maxBytes of UTF-8; never half a surrogate pair.
    internal static string? TruncateUtf8(string? text, int maxBytes)
    {
        if (text is null || text.Length * 3 <= maxBytes || Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        var budget = maxBytes - Encoding.UTF8.GetByteCount(TruncatedNote);
        var bytes = 0;
        var cut = 0;
        while (cut < text.Length)
        {
            int chars = 1, size;
            var c = text[cut];
            if (char.IsHighSurrogate(c) && cut + 1 < text.Length && char.IsLowSurrogate(text[cut + 1]))
            {
                (chars, size) = (2, 4);
            }
            else
            {
                // A lone surrogate is written as U+FFFD: three bytes, like the rest above U+07FF.
                size = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
            }

            if (bytes + size > budget)
            {
                break;
            }

            bytes += size;
            cut += chars;
        }

        return text[..cut] + TruncatedNote;
    }

    private Task<GitHubResult<T>> SendAsync<T>(
        long installationId, string operation, GitHubCallClass callClass, HttpMethod method, string path,
        Func<HttpContent>? body, Func<HttpResponseMessage, CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        SendAsync(installationId, operation, callClass, method, rest.Resolve(path), body, read, cancellationToken);

    private async Task<GitHubResult<T>> SendAsync<T>(
        long installationId, string operation, GitHubCallClass callClass, HttpMethod method, Uri uri,
        Func<HttpContent>? body, Func<HttpResponseMessage, CancellationToken, Task<T>> read, CancellationToken cancellationToken, string? accept = null)
    {
        long? writeGate = method == HttpMethod.Get ? null : installationId;
        for (var attempt = 0; ; attempt++)
        {
            var token = await tokens.GetAsync(installationId, cancellationToken);
            if (!token.IsOk)
            {
                return token.As<T>();
            }

            var result = await rest.SendAsync(
                operation,
                callClass,
                CredentialKey.GitHubInstallation(installationId),
                writeGate,
                () =>
                {
                    var request = GitHubHeaders.Create(method, uri);
                    if (accept is not null)
                    {
                        request.Headers.Accept.Clear();
                        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
                    }

                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
                    request.Content = body?.Invoke();
                    return request;
                },
                read,
                cancellationToken);

            if (result.Outcome != GitHubOutcome.Unauthorized || attempt > 0)
            {
                return result;
            }

            // The token was revoked or expired early: get a new one and try once more.
            tokens.Invalidate(installationId, token.Value!);
        }
    }

    // "owner/repo" as two escaped path segments.
    private static string RepoPath(string repo)
    {
        var slash = repo.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == repo.Length - 1 || repo.IndexOf('/', slash + 1) >= 0)
        {
            throw new ArgumentException("repository must be \"owner/repo\"", nameof(repo));
        }

        return $"repos/{Uri.EscapeDataString(repo[..slash])}/{Uri.EscapeDataString(repo[(slash + 1)..])}";
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
