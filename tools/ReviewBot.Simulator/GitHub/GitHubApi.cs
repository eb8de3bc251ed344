using System.Globalization;
using System.Text.Json.Nodes;
using ReviewBot.Simulator.Diffs;
using ReviewBot.Simulator.Faults;
using ReviewBot.Simulator.State;

namespace ReviewBot.Simulator.GitHub;

// The GitHub REST endpoints ReviewBot calls (docs.github.com/en/rest, API version 2022-11-28),
// answered from SimulatorState with GitHub's shapes, status codes and pagination.
public static class GitHubApi
{
    private const string ReviewDocs = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request";

    public static void Map(WebApplication app, SimulatorState state, AppJwtVerifier jwt, FaultInjector faults, TimeProvider time)
    {
        // "Create an installation access token for an app": App JWT only; tokens last one hour.
        app.MapPost("/app/installations/{installationId:long}/access_tokens", (HttpContext http, long installationId) =>
        {
            if (jwt.Verify(Bearer(http)) is { } problem)
            {
                return Error(401, problem);
            }

            var expires = time.GetUtcNow().AddHours(1);
            var token = state.IssueToken(installationId, expires);
            return Results.Json(new JsonObject
            {
                ["token"] = token,
                ["expires_at"] = expires.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["permissions"] = new JsonObject { ["pull_requests"] = "write", ["checks"] = "write", ["contents"] = "read", ["metadata"] = "read" },
                ["repository_selection"] = "all",
            }, statusCode: 201);
        });

        // "List deliveries for an app webhook": nothing was ever undelivered here.
        app.MapGet("/app/hook/deliveries", (HttpContext http) =>
            jwt.Verify(Bearer(http)) is { } problem ? Error(401, problem) : Results.Json(new JsonArray()));

        app.MapPost("/app/hook/deliveries/{id:long}/attempts", (HttpContext http, long id) =>
            jwt.Verify(Bearer(http)) is { } problem ? Error(401, problem) : Results.Json(new JsonObject(), statusCode: 202));

        // "List app installations accessible to the user access token".
        app.MapGet("/user/installations", (HttpContext http) =>
        {
            if (Bearer(http) is not { } token || state.UserInstallations(token) is not { } ids)
            {
                return Error(401, "Bad credentials");
            }

            var list = new JsonArray();
            foreach (var id in ids)
            {
                list.Add(new JsonObject { ["id"] = id, ["account"] = new JsonObject { ["login"] = $"owner-{id}", ["type"] = "Organization" }, ["app_id"] = 1 });
            }

            return Results.Json(new JsonObject { ["total_count"] = ids.Length, ["installations"] = list });
        });

        app.MapGet("/repos/{owner}/{repo}/pulls/{number:int}", (HttpContext http, string owner, string repo, int number) =>
        {
            if (Authorize(http, state, time, owner, repo) is { } denied)
            {
                return denied;
            }

            return state.FindPull($"{owner}/{repo}", number) is { } pull ? Results.Json(PullJson(pull)) : Error(404, "Not Found");
        });

        // "List pull requests files": per_page up to 100 (default 30), Link header pagination.
        app.MapGet("/repos/{owner}/{repo}/pulls/{number:int}/files", (HttpContext http, string owner, string repo, int number) =>
        {
            if (Authorize(http, state, time, owner, repo) is { } denied)
            {
                return denied;
            }

            if (state.FindPull($"{owner}/{repo}", number) is not { } pull)
            {
                return Error(404, "Not Found");
            }

            var files = pull.Head.Files.Select(f => FileJson($"{owner}/{repo}", pull.Head.Sha, f)).ToList();
            return Results.Json(new JsonArray([.. Page(http, files)]));
        });

        // "Compare two commits": base...head. A base that is an earlier push of the same pull request
        // is an ancestor (ahead) unless a later push rewrote history (diverged).
        app.MapGet("/repos/{owner}/{repo}/compare/{basehead}", (HttpContext http, string owner, string repo, string basehead) =>
        {
            if (Authorize(http, state, time, owner, repo) is { } denied)
            {
                return denied;
            }

            var parts = basehead.Split("...");
            var pull = parts.Length == 2
                ? state.Pulls().FirstOrDefault(p => string.Equals(p.Repo, $"{owner}/{repo}", StringComparison.OrdinalIgnoreCase) && p.Pushes.Any(x => x.Sha == parts[1]))
                : null;
            if (pull is null)
            {
                return Error(404, "Not Found");
            }

            var pushes = pull.Pushes.ToList();
            var headIndex = pushes.FindIndex(x => x.Sha == parts[1]);
            var baseIndex = parts[0] == pull.BaseSha ? -1 : pushes.FindIndex(x => x.Sha == parts[0]);
            if (baseIndex == -1 && parts[0] != pull.BaseSha)
            {
                return Error(404, "No common ancestor between " + parts[0] + " and " + parts[1] + ".");
            }

            var between = pushes.Skip(baseIndex + 1).Take(headIndex - baseIndex).ToList();
            var status = baseIndex >= headIndex ? "behind" : between.Any(x => x.Rewritten) ? "diverged" : "ahead";
            var commits = new JsonArray([.. between.Select(x => (JsonNode)new JsonObject { ["sha"] = x.Sha, ["commit"] = new JsonObject { ["message"] = x.Message } })]);
            return Results.Json(new JsonObject
            {
                ["status"] = status,
                ["ahead_by"] = Math.Max(0, headIndex - baseIndex),
                ["behind_by"] = status == "diverged" ? 1 : 0,
                ["total_commits"] = Math.Max(0, headIndex - baseIndex),
                ["commits"] = commits,
                ["files"] = new JsonArray([.. pushes[headIndex].Files.Select(f => (JsonNode)FileJson($"{owner}/{repo}", parts[1], f))]),
            });
        });

        // "List reviews for a pull request": oldest first, per_page up to 100, Link header.
        app.MapGet("/repos/{owner}/{repo}/pulls/{number:int}/reviews", (HttpContext http, string owner, string repo, int number) =>
        {
            if (Authorize(http, state, time, owner, repo) is { } denied)
            {
                return denied;
            }

            if (state.FindPull($"{owner}/{repo}", number) is null)
            {
                return Error(404, "Not Found");
            }

            var reviews = state.Reviews($"{owner}/{repo}", number).OrderBy(r => r.Id).Select(ReviewJson).ToList();
            return Results.Json(new JsonArray([.. Page(http, reviews)]));
        });

        // "Create a review for a pull request". Every comment must sit on a line of the diff of
        // commit_id: otherwise the whole review is refused with 422 "Line could not be resolved".
        app.MapPost("/repos/{owner}/{repo}/pulls/{number:int}/reviews", async (HttpContext http, string owner, string repo, int number) =>
        {
            if (Authorize(http, state, time, owner, repo) is { } denied)
            {
                return denied;
            }

            if (state.FindPull($"{owner}/{repo}", number) is not { } pull)
            {
                return Error(404, "Not Found");
            }

            var body = await ReadJsonAsync(http);
            if (body is null)
            {
                return Error(400, "Problems parsing JSON");
            }

            var commitId = (string?)body["commit_id"];
            var push = commitId is null ? pull.Head : pull.Pushes.LastOrDefault(x => x.Sha == commitId);
                        if (push is null)
            {
                return Unprocessable(state, time, http, "commit_id is not part of the pull request");
            }

            var reviewEvent = (string?)body["event"] ?? "PENDING";
            var text = (string?)body["body"] ?? "";
            if (reviewEvent is "COMMENT" or "REQUEST_CHANGES" && text.Length == 0 && body["comments"] is not JsonArray { Count: > 0 })
            {
                return Unprocessable(state, time, http, "Review body is required");
            }

            var comments = new List<ReviewCommentRecord>();
            foreach (var node in body["comments"] as JsonArray ?? [])
            {
                var c = new ReviewCommentRecord((string?)node?["path"] ?? "", (string?)node?["body"] ?? "", (int?)node?["line"], (string?)node?["side"], (int?)node?["start_line"], (string?)node?["start_side"]);
                var file = push.Files.FirstOrDefault(f => f.Filename == c.Path);
                var problem = file is null ? "Path could not be resolved" : file.Validate(c.Line, c.Side, c.StartLine, c.StartSide);
                if (problem is not null)
                {
                    return Unprocessable(state, time, http, $"{problem} ({c.Path}:{c.StartLine?.ToString(CultureInfo.InvariantCulture) + "-"}{c.Line} {c.Side})");
                }

                comments.Add(c);
            }

            var review = state.AddReview(new ReviewRecord(state.NextId(), pull.InstallationId, pull.Repo, number, push.Sha, text, reviewEvent, comments, time.GetUtcNow()));
            if (faults.CreateReviewThen5xx())
            {
                // The review exists; the answer is lost on the way back.
                return Error(502, "Server Error");
            }

            return Results.Json(ReviewJson(review));
        });

        // "Create a check run".
        app.MapPost("/repos/{owner}/{repo}/check-runs", async (HttpContext http, string owner, string repo) =>
        {
            if (Authorize(http, state, time, owner, repo) is { } denied)
            {
                return denied;
            }

            var body = await ReadJsonAsync(http);
            var name = (string?)body?["name"];
            var headSha = (string?)body?["head_sha"];
                        if (body is null || string.IsNullOrEmpty(name) || string.IsNullOrEmpty(headSha))
            {
                return Unprocessable(state, time, http, "name and head_sha are required");
            }

            if (!state.Pulls().Any(p => string.Equals(p.Repo, $"{owner}/{repo}", StringComparison.OrdinalIgnoreCase) && p.Pushes.Any(x => x.Sha == headSha)))
            {
                return Unprocessable(state, time, http, "No commit found for SHA: " + headSha);
            }

            if (CheckRunProblem(body) is { } problem)
            {
                return Unprocessable(state, time, http, problem);
            }

            var output = body["output"];
            var run = new CheckRunRecord
            {
                Id = state.NextId(),
                InstallationId = state.RepoInstallation($"{owner}/{repo}") ?? 0,
                Repo = $"{owner}/{repo}",
                HeadSha = headSha,
                Name = name,
                ExternalId = (string?)body["external_id"],
                Status = (string?)body["status"] ?? "queued",
                Conclusion = (string?)body["conclusion"],
                Title = (string?)output?["title"],
                Summary = (string?)output?["summary"],
            };
            if (run.Conclusion is not null)
            {
                run.Status = "completed";
            }

            state.AddCheckRun(run, new CheckRunUpdate(time.GetUtcNow(), run.Status, run.Conclusion, run.Title, run.Summary));
            return Results.Json(CheckRunJson(run), statusCode: 201);
        });

        // "List check runs for a Git reference": lets a client find a check run it created but whose
        // id it never stored (check_name and per_page filters; newest first).
        app.MapGet("/repos/{owner}/{repo}/commits/{sha}/check-runs", (HttpContext http, string owner, string repo, string sha) =>
        {
            if (Authorize(http, state, time, owner, repo) is { } denied)
            {
                return denied;
            }

            var name = http.Request.Query["check_name"].FirstOrDefault();
            var runs = state.CheckRuns()
                .Where(c => string.Equals(c.Repo, $"{owner}/{repo}", StringComparison.OrdinalIgnoreCase) && c.HeadSha == sha && (name is null || c.Name == name))
                .OrderByDescending(c => c.Id).Select(CheckRunJson).ToList();
            return Results.Json(new JsonObject { ["total_count"] = runs.Count, ["check_runs"] = new JsonArray([.. Page(http, runs)]) });
        });

        // "Update a check run".
        app.MapMethods("/repos/{owner}/{repo}/check-runs/{id:long}", ["PATCH"], async (HttpContext http, string owner, string repo, long id) =>
        {
            if (Authorize(http, state, time, owner, repo) is { } denied)
            {
                return denied;
            }

            var body = await ReadJsonAsync(http);
                        if (body is null)
            {
                return Error(400, "Problems parsing JSON");
            }

            if (CheckRunProblem(body) is { } problem)
            {
                return Unprocessable(state, time, http, problem);
            }

            var output = body["output"];
            var run = state.UpdateCheckRun(id, $"{owner}/{repo}", new CheckRunUpdate(time.GetUtcNow(), (string?)body["status"], (string?)body["conclusion"], (string?)output?["title"], (string?)output?["summary"]));
            return run is null ? Error(404, "Not Found") : Results.Json(CheckRunJson(run));
        });
    }

    // GitHub: status "completed" or a completed_at needs a conclusion, and a conclusion must be one it knows.
    private static string? CheckRunProblem(JsonNode body)
    {
        var status = (string?)body["status"];
        var conclusion = (string?)body["conclusion"];
        if (status is not (null or "queued" or "in_progress" or "completed" or "waiting" or "requested" or "pending"))
        {
            return "Invalid status: " + status;
        }

        if ((status == "completed" || body["completed_at"] is not null) && conclusion is null)
        {
            return "Missing conclusion for a completed check run";
        }

        if (conclusion is not (null or "action_required" or "cancelled" or "failure" or "neutral" or "success" or "skipped" or "stale" or "timed_out"))
        {
            return "Invalid conclusion: " + conclusion;
        }

        if (body["output"] is { } output && (output["title"] is null || output["summary"] is null))
        {
            return "output needs title and summary";
        }

        return null;
    }

    private static IResult? Authorize(HttpContext http, SimulatorState state, TimeProvider time, string owner, string repo)
    {
        if (Bearer(http) is not { } token || state.TokenInstallation(token, time.GetUtcNow()) is not { } installation)
        {
            return Error(401, "Bad credentials");
        }

        // An installation token sees only its installation's repositories; GitHub answers 404, not 403.
        return state.RepoInstallation($"{owner}/{repo}") == installation ? null : Error(404, "Not Found");
    }

    public static string? Bearer(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        foreach (var scheme in (string[])["Bearer ", "token "])
        {
            if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return header[scheme.Length..].Trim();
            }
        }

        return null;
    }

    private static IEnumerable<JsonNode> Page(HttpContext http, List<JsonObject> items)
    {
        var query = http.Request.Query;
        var perPage = Math.Clamp(int.TryParse(query["per_page"], CultureInfo.InvariantCulture, out var p) ? p : 30, 1, 100);
        var page = Math.Max(1, int.TryParse(query["page"], CultureInfo.InvariantCulture, out var n) ? n : 1);
        var last = Math.Max(1, (items.Count + perPage - 1) / perPage);
        var links = new List<string>();
        var baseUrl = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}?per_page={perPage}&page=";
        if (page < last)
        {
            links.Add($"<{baseUrl}{page + 1}>; rel=\"next\"");
            links.Add($"<{baseUrl}{last}>; rel=\"last\"");
        }

        if (page > 1)
        {
            links.Add($"<{baseUrl}1>; rel=\"first\"");
            links.Add($"<{baseUrl}{page - 1}>; rel=\"prev\"");
        }

        if (links.Count > 0)
        {
            http.Response.Headers["Link"] = string.Join(", ", links);
        }

        return items.Skip((page - 1) * perPage).Take(perPage);
    }

    private static async Task<JsonNode?> ReadJsonAsync(HttpContext http)
    {
        try
        {
            return await JsonNode.ParseAsync(http.Request.Body);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public static IResult Error(int status, string message) => Results.Json(new JsonObject
    {
        ["message"] = message,
        ["documentation_url"] = "https://docs.github.com/rest",
        ["status"] = status.ToString(CultureInfo.InvariantCulture),
    }, statusCode: status);

    // GitHub's 422 body: {"message":"Unprocessable Entity","errors":[...],"documentation_url":...,"status":"422"}.
    private static IResult Unprocessable(SimulatorState state, TimeProvider time, HttpContext http, string reason)
    {
        state.AddRejection(new Rejection(time.GetUtcNow(), 422, http.Request.Method, http.Request.Path.Value ?? "", reason));
        return Results.Json(new JsonObject
        {
            ["message"] = "Unprocessable Entity",
            ["errors"] = new JsonArray(reason),
            ["documentation_url"] = ReviewDocs,
            ["status"] = "422",
        }, statusCode: 422);
    }

    private static JsonObject PullJson(SimPull pull) => new()
    {
        ["url"] = $"https://api.github.com/repos/{pull.Repo}/pulls/{pull.Number}",
        ["number"] = pull.Number,
        ["state"] = pull.State,
        ["title"] = pull.Title,
        ["body"] = pull.Body,
        ["draft"] = pull.Draft,
        ["head"] = new JsonObject { ["sha"] = pull.Head.Sha, ["ref"] = "feature", ["repo"] = new JsonObject { ["id"] = Client.Webhooks.RepositoryId(pull.Repo), ["full_name"] = pull.Repo, ["fork"] = false } },
        ["base"] = new JsonObject { ["sha"] = pull.BaseSha, ["ref"] = "main", ["repo"] = new JsonObject { ["id"] = Client.Webhooks.RepositoryId(pull.Repo), ["full_name"] = pull.Repo, ["fork"] = false } },
        ["changed_files"] = pull.Head.Files.Count,
        ["additions"] = pull.Head.Files.Sum(f => f.Additions),
        ["deletions"] = pull.Head.Files.Sum(f => f.Deletions),
    };

    private static JsonObject FileJson(string repo, string sha, DiffFile f)
    {
        var json = new JsonObject
        {
            ["sha"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(sha + f.Filename))),
            ["filename"] = f.Filename,
            ["status"] = f.Status,
            ["additions"] = f.Additions,
            ["deletions"] = f.Deletions,
            ["changes"] = f.Changes,
            ["blob_url"] = $"https://github.com/{repo}/blob/{sha}/{f.Filename}",
            ["raw_url"] = $"https://github.com/{repo}/raw/{sha}/{f.Filename}",
            ["contents_url"] = $"https://api.github.com/repos/{repo}/contents/{f.Filename}?ref={sha}",
        };
        if (f.Patch is not null)
        {
            json["patch"] = f.Patch;
        }

        if (f.PreviousFilename is not null)
        {
            json["previous_filename"] = f.PreviousFilename;
        }

        return json;
    }

    private static JsonObject ReviewJson(ReviewRecord r) => new()
    {
        ["id"] = r.Id,
        ["node_id"] = "PRR_" + r.Id.ToString(CultureInfo.InvariantCulture),
        ["user"] = new JsonObject { ["login"] = "reviewbot[bot]", ["id"] = 1, ["type"] = "Bot" },
        ["body"] = r.Body,
        ["state"] = r.Event switch { "COMMENT" => "COMMENTED", "APPROVE" => "APPROVED", "REQUEST_CHANGES" => "CHANGES_REQUESTED", _ => "PENDING" },
        ["html_url"] = $"https://github.com/{r.Repo}/pull/{r.Pr}#pullrequestreview-{r.Id}",
        ["pull_request_url"] = $"https://api.github.com/repos/{r.Repo}/pulls/{r.Pr}",
        ["author_association"] = "NONE",
        ["submitted_at"] = r.SubmittedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["commit_id"] = r.CommitId,
    };

    private static JsonObject CheckRunJson(CheckRunRecord run) => new()
    {
        ["id"] = run.Id,
        ["node_id"] = "CR_" + run.Id.ToString(CultureInfo.InvariantCulture),
        ["head_sha"] = run.HeadSha,
        ["external_id"] = run.ExternalId,
        ["name"] = run.Name,
        ["status"] = run.Status,
        ["conclusion"] = run.Conclusion,
        ["html_url"] = $"https://github.com/{run.Repo}/runs/{run.Id}",
        ["output"] = new JsonObject { ["title"] = run.Title, ["summary"] = run.Summary, ["annotations_count"] = 0 },
    };
}
