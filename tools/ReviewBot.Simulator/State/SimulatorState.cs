using System.Collections.Concurrent;
using ReviewBot.Simulator.Diffs;

namespace ReviewBot.Simulator.State;

public sealed record Push(string Sha, string Message, IReadOnlyList<DiffFile> Files, bool Rewritten);

public sealed class SimPull
{
    public required long InstallationId { get; init; }
    public required string Repo { get; init; }
    public required int Number { get; init; }
    public string Title { get; set; } = "";
    public string? Body { get; set; }
    public string State { get; set; } = "open";
    public bool Draft { get; set; }
    public required string BaseSha { get; init; }
    public List<Push> Pushes { get; } = [];
    public Push Head => Pushes[^1];
}

public sealed record ReviewCommentRecord(string Path, string Body, int? Line, string? Side, int? StartLine, string? StartSide);

public sealed record ReviewRecord(
    long Id, long InstallationId, string Repo, int Pr, string? CommitId, string Body, string Event,
    IReadOnlyList<ReviewCommentRecord> Comments, DateTimeOffset SubmittedAt);

public sealed record CheckRunUpdate(DateTimeOffset At, string? Status, string? Conclusion, string? Title, string? Summary);

public sealed class CheckRunRecord
{
    public required long Id { get; init; }
    public required long InstallationId { get; init; }
    public required string Repo { get; init; }
    public required string HeadSha { get; init; }
    public required string Name { get; init; }
    public string? ExternalId { get; set; }
    public string Status { get; set; } = "queued";
    public string? Conclusion { get; set; }
    public string? Title { get; set; }
    public string? Summary { get; set; }
    public List<CheckRunUpdate> Updates { get; } = [];
}

public sealed record Violation(DateTimeOffset At, string Kind, string Scope, string Credential, string Method, string Path, double EarlyByMs);

public sealed record Rejection(DateTimeOffset At, int Status, string Method, string Path, string Reason);

// Everything the simulator knows: pull requests, installations and tokens, and what ReviewBot did
// (reviews, check runs, 422s answered, requests that came before a Retry-After deadline, the most
// LLM requests seen in flight per API key). One lock: the simulator is a test tool, not a server
// under load, and a consistent snapshot matters more than throughput.
public sealed class SimulatorState
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Repo, int Number), SimPull> _pulls = new();
    private readonly Dictionary<string, long> _repoInstallation = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (long InstallationId, DateTimeOffset ExpiresAt)> _tokens = new();
    private readonly Dictionary<string, long[]> _userTokens = new();
    private readonly List<ReviewRecord> _reviews = [];
    private readonly Dictionary<long, CheckRunRecord> _checkRuns = new();
    private readonly List<Violation> _violations = [];
    private readonly List<Rejection> _rejections = [];
    private readonly Dictionary<string, int> _inFlight = new();
    private readonly Dictionary<string, int> _maxInFlight = new();
    private readonly ConcurrentDictionary<string, long> _requestCounts = new();
    private long _nextId = 1000;

    public long NextId() => Interlocked.Increment(ref _nextId);

    public void CountRequest(string label) => _requestCounts.AddOrUpdate(label, 1, (_, n) => n + 1);

    public SimPull AddPull(long installationId, string repo, int number, string title, string? body, string baseSha, string headSha, IReadOnlyList<DiffFile> files, bool draft = false)
    {
        var pull = new SimPull { InstallationId = installationId, Repo = repo, Number = number, Title = title, Body = body, BaseSha = baseSha, Draft = draft };
        pull.Pushes.Add(new Push(headSha, title, files, false));
        lock (_gate)
        {
            _pulls[(repo.ToLowerInvariant(), number)] = pull;
            _repoInstallation[repo] = installationId;
        }

        return pull;
    }

    public SimPull? Push(string repo, int number, string headSha, IReadOnlyList<DiffFile>? files, string message, bool rewritten)
    {
        lock (_gate)
        {
            if (!_pulls.TryGetValue((repo.ToLowerInvariant(), number), out var pull))
            {
                return null;
            }

            pull.Pushes.Add(new Push(headSha, message, files ?? pull.Head.Files, rewritten));
            return pull;
        }
    }

    public SimPull? FindPull(string repo, int number)
    {
        lock (_gate)
        {
            return _pulls.GetValueOrDefault((repo.ToLowerInvariant(), number));
        }
    }

    public IReadOnlyList<SimPull> Pulls()
    {
        lock (_gate)
        {
            return [.. _pulls.Values];
        }
    }

    public long? RepoInstallation(string repo)
    {
        lock (_gate)
        {
            return _repoInstallation.TryGetValue(repo, out var id) ? id : null;
        }
    }

    public string IssueToken(long installationId, DateTimeOffset expiresAt)
    {
        var token = "ghs_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18));
        lock (_gate)
        {
            _tokens[token] = (installationId, expiresAt);
        }

        return token;
    }

    public long? TokenInstallation(string token, DateTimeOffset now)
    {
        lock (_gate)
        {
            return _tokens.TryGetValue(token, out var t) && t.ExpiresAt > now ? t.InstallationId : null;
        }
    }

    public void AddUserToken(string token, long[] installations)
    {
        lock (_gate)
        {
            _userTokens[token] = installations;
        }
    }

    public long[]? UserInstallations(string token)
    {
        lock (_gate)
        {
            return _userTokens.GetValueOrDefault(token);
        }
    }

    public ReviewRecord AddReview(ReviewRecord review)
    {
        lock (_gate)
        {
            _reviews.Add(review);
        }

        return review;
    }

    public IReadOnlyList<ReviewRecord> Reviews(string? repo = null, int? pr = null)
    {
        lock (_gate)
        {
            return [.. _reviews.Where(r => (repo is null || string.Equals(r.Repo, repo, StringComparison.OrdinalIgnoreCase)) && (pr is null || r.Pr == pr))];
        }
    }

    public CheckRunRecord AddCheckRun(CheckRunRecord checkRun, CheckRunUpdate first)
    {
        lock (_gate)
        {
            checkRun.Updates.Add(first);
            _checkRuns[checkRun.Id] = checkRun;
        }

        return checkRun;
    }

    public CheckRunRecord? UpdateCheckRun(long id, string repo, CheckRunUpdate update)
    {
        lock (_gate)
        {
            if (!_checkRuns.TryGetValue(id, out var run) || !string.Equals(run.Repo, repo, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            run.Updates.Add(update);
            run.Status = update.Status ?? run.Status;
            run.Conclusion = update.Conclusion ?? run.Conclusion;
            if (update.Conclusion is not null)
            {
                run.Status = "completed";
            }

            run.Title = update.Title ?? run.Title;
            run.Summary = update.Summary ?? run.Summary;
            return run;
        }
    }

    public IReadOnlyList<CheckRunRecord> CheckRuns()
    {
        lock (_gate)
        {
            return [.. _checkRuns.Values.OrderBy(c => c.Id)];
        }
    }

    public void AddViolation(Violation violation)
    {
        lock (_gate)
        {
            _violations.Add(violation);
        }
    }

    public void AddRejection(Rejection rejection)
    {
        lock (_gate)
        {
            _rejections.Add(rejection);
        }
    }

    public void EnterLlm(string key)
    {
        lock (_gate)
        {
            var now = _inFlight[key] = _inFlight.GetValueOrDefault(key) + 1;
            if (now > _maxInFlight.GetValueOrDefault(key))
            {
                _maxInFlight[key] = now;
            }
        }
    }

    public void ExitLlm(string key)
    {
        lock (_gate)
        {
            _inFlight[key] = _inFlight.GetValueOrDefault(key) - 1;
        }
    }

    public object Snapshot()
    {
        lock (_gate)
        {
            return new
            {
                reviews = _reviews.ToArray(),
                checkRuns = _checkRuns.Values.OrderBy(c => c.Id).Select(c => new
                {
                    c.Id, c.InstallationId, c.Repo, c.HeadSha, c.Name, c.ExternalId, c.Status, c.Conclusion, c.Title, c.Summary,
                    updates = c.Updates.ToArray(),
                }).ToArray(),
                violations = _violations.ToArray(),
                rejections = _rejections.ToArray(),
                llmInFlight = new Dictionary<string, int>(_inFlight),
                llmMaxInFlight = new Dictionary<string, int>(_maxInFlight),
                requests = new SortedDictionary<string, long>(_requestCounts),
                pulls = _pulls.Values.Select(p => new { p.InstallationId, p.Repo, p.Number, p.State, head = p.Head.Sha, shas = p.Pushes.Select(x => x.Sha).ToArray() }).ToArray(),
            };
        }
    }

    public object Stats()
    {
        lock (_gate)
        {
            return new
            {
                reviews = _reviews.Count,
                checkRuns = _checkRuns.Count,
                completedCheckRuns = _checkRuns.Values.Count(c => c.Status == "completed"),
                llmInFlight = _inFlight.Values.Sum(),
                rejections = _rejections.Count,
                violations = _violations.Count,
            };
        }
    }

    public IReadOnlyList<Violation> Violations()
    {
        lock (_gate)
        {
            return [.. _violations];
        }
    }

    public IReadOnlyList<Rejection> Rejections()
    {
        lock (_gate)
        {
            return [.. _rejections];
        }
    }

    public IReadOnlyDictionary<string, int> MaxLlmInFlight()
    {
        lock (_gate)
        {
            return new Dictionary<string, int>(_maxInFlight);
        }
    }

    public IReadOnlyDictionary<string, long> RequestCounts() => new Dictionary<string, long>(_requestCounts);
}
