using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using ReviewBot.Hosting;
using ReviewBot.Llm;

namespace ReviewBot.Settings;

// CONTRACT §3 settings API. Every handler authenticates first and answers an installation the caller
// may not see exactly as one that does not exist (same status, same body), so ids reveal nothing.
internal static partial class SettingsEndpoints
{
    // A full settings body is a few KiB (2,000 characters of instructions, 50 globs of 200); 64 KiB
    // leaves room for JSON escaping and refuses anything that is not a settings document.
    public const int MaxBodyBytes = 64 * 1024;

    public const int DefaultJobLimit = 20;
    public const int MaxJobLimit = 100;

    // Provider list-models calls normally answer in well under a second; a hung provider must not
    // hold the request (and the user) for minutes.
    private static readonly TimeSpan KeyValidationTimeout = TimeSpan.FromSeconds(20);

    public static WebApplication MapSettingsApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/installations");
        api.AddEndpointFilter(async (context, next) =>
        {
            // Tenant data: never kept by a browser or proxy cache.
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            return await next(context);
        });
        api.MapGet("/", ListInstallationsAsync);
        api.MapGet("/{id:long}/settings", GetSettingsAsync);
        api.MapPut("/{id:long}/settings", PutSettingsAsync);
        api.MapGet("/{id:long}/jobs", ListJobsAsync);
        return app;
    }

    private static async Task<IResult> ListInstallationsAsync(HttpContext context, SettingsAccess access, SettingsStore store, CancellationToken cancellationToken)
    {
        var auth = await access.AuthenticateAsync(context, cancellationToken);
        if (auth.Caller is null)
        {
            return Refused(context, auth);
        }

        if (auth.Caller is GitHubUserCaller user)
        {
            // GitHub's list is the truth for who may see what; the local rows add whether each is configured.
            var local = (await store.ListInstallationsAsync(user.Installations.Select(i => i.Id).ToArray(), cancellationToken)).ToDictionary(i => i.Id);
            var merged = user.Installations
                .Select(i => local.TryGetValue(i.Id, out var known)
                    ? known with { Account = i.AccountLogin, AccountType = i.AccountType, Suspended = i.Suspended || known.Suspended }
                    : new InstallationSummary(i.Id, i.AccountLogin, i.AccountType, i.Suspended, false, false))
                .ToList();
            return TypedResults.Json(new InstallationListResponse(merged), ApiJsonContext.Default.InstallationListResponse);
        }

        var all = await store.ListInstallationsAsync(null, cancellationToken);
        return TypedResults.Json(new InstallationListResponse(all), ApiJsonContext.Default.InstallationListResponse);
    }

    private static async Task<IResult> GetSettingsAsync(long id, HttpContext context, SettingsAccess access, SettingsStore store, CancellationToken cancellationToken)
    {
        var auth = await access.AuthenticateAsync(context, cancellationToken);
        if (auth.Caller is null)
        {
            return Refused(context, auth);
        }

        if (!auth.Caller.MaySee(id))
        {
            return NotFound();
        }

        var stored = await store.GetAsync(id, cancellationToken);
        // An operator asking for an id ReviewBot has never heard of gets 404, not invented defaults;
        // a user whose token GitHub lists the installation for sees the defaults it would start with.
        if (auth.Caller is OperatorCaller && !stored.InstallationKnown)
        {
            return NotFound();
        }

        return TypedResults.Json(ToResponse(stored, store), ApiJsonContext.Default.SettingsResponse);
    }

    private static async Task<IResult> PutSettingsAsync(long id, HttpContext context, SettingsAccess access, SettingsStore store, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var auth = await access.AuthenticateAsync(context, cancellationToken);
        if (auth.Caller is null)
        {
            return Refused(context, auth);
        }

        if (!auth.Caller.MaySee(id))
        {
            return NotFound();
        }

        var logger = loggerFactory.CreateLogger(typeof(SettingsEndpoints).FullName!);
        var (request, failure) = await ReadRequestAsync(context, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var (update, errors) = SettingsValidator.Validate(request!);
        if (update is null)
        {
            return Problem(errors);
        }

        if (update.ApiKey is not null)
        {
            // Resolved per request: the LLM clients are registered by their own module (Llm/).
            if (context.RequestServices.GetService<ILlmClientFactory>() is not { } llm)
            {
                return Error("API key validation is not available on this server; nothing was saved.", StatusCodes.Status503ServiceUnavailable);
            }

            var validation = await ValidateKeyAsync(llm, update.Provider, update.ApiKey, cancellationToken);
            Log.KeyChecked(logger, id, update.Provider.ToWireName(), validation.ToString());
            switch (validation)
            {
                case KeyValidation.Rejected:
                    return Error("Invalid API key", StatusCodes.Status400BadRequest);
                case KeyValidation.Unreachable:
                    return Error($"The {update.Provider.ToWireName()} API could not be reached to check the API key; nothing was saved. Try again later.", StatusCodes.Status502BadGateway);
            }
        }

        if (await store.SaveAsync(id, update, cancellationToken) == SettingsSaveOutcome.ProviderChangedWithoutKey)
        {
            return Problem(new Dictionary<string, string[]>
            {
                ["apiKey"] = ["The stored API key belongs to the previous provider: send an apiKey for the new llmProvider."],
            });
        }

        Log.SettingsSaved(logger, id, update.Provider.ToWireName(), update.Model, update.Enabled, update.ApiKey is not null, auth.Caller is OperatorCaller ? "operator" : "github-user");
        var stored = await store.GetAsync(id, cancellationToken);
        return TypedResults.Json(ToResponse(stored, store), ApiJsonContext.Default.SettingsResponse);
    }

    private static async Task<IResult> ListJobsAsync(long id, string? limit, HttpContext context, SettingsAccess access, SettingsStore store, CancellationToken cancellationToken)
    {
        var auth = await access.AuthenticateAsync(context, cancellationToken);
        if (auth.Caller is null)
        {
            return Refused(context, auth);
        }

        if (!auth.Caller.MaySee(id))
        {
            return NotFound();
        }

        var count = DefaultJobLimit;
        if (limit is not null
            && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1 || count > MaxJobLimit))
        {
            return Problem(new Dictionary<string, string[]> { ["limit"] = [$"limit must be a whole number from 1 to {MaxJobLimit}."] });
        }

        var jobs = await store.ListJobsAsync(id, count, cancellationToken);
        return TypedResults.Json(new JobListResponse(jobs), ApiJsonContext.Default.JobListResponse);
    }

    private static async Task<KeyValidation> ValidateKeyAsync(ILlmClientFactory llm, LlmProvider provider, string apiKey, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(KeyValidationTimeout);
        try
        {
            return await llm.ValidateKeyAsync(provider, apiKey, timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return KeyValidation.Unreachable;
        }
    }

    // Reads the body under MaxBodyBytes, then checks its members by name before binding, so every
    // unknown or mistyped member is reported by its JSON name. The request type itself also refuses
    // unmapped members (JsonUnmappedMemberHandling.Disallow) in case anything slips past the scan.
    private static async Task<(SettingsRequest? Request, IResult? Failure)> ReadRequestAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (!context.Request.HasJsonContentType())
        {
            return (null, Error("Content-Type must be application/json.", StatusCodes.Status415UnsupportedMediaType));
        }

        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return (null, Error($"The request body must be at most {MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = MaxBodyBytes + 1;
        }

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > MaxBodyBytes)
                {
                    return (null, Error($"The request body must be at most {MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge));
                }
            }

            body = buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Error($"The request body must be at most {MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge));
        }

        if (ScanMembers(body) is { Count: > 0 } memberErrors)
        {
            return (null, Problem(memberErrors));
        }

        try
        {
            return (JsonSerializer.Deserialize(body, ApiJsonContext.Default.SettingsRequest), null);
        }
        catch (JsonException ex)
        {
            // Path is "$.reviewsPerHour" or "$.ignorePaths[2]"; the message is not echoed because it may quote input.
            var field = ex.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : "body";
            return (null, Problem(new Dictionary<string, string[]> { [field] = [$"{field} has the wrong JSON type or value."] }));
        }
    }

    private static Dictionary<string, string[]>? ScanMembers(byte[] body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return new Dictionary<string, string[]> { ["body"] = ["The request body is not valid JSON."] };
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new Dictionary<string, string[]> { ["body"] = ["The request body must be a JSON object."] };
            }

            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var member in document.RootElement.EnumerateObject())
            {
                // Web defaults bind names case-insensitively; the scan agrees so it never rejects what binding accepts.
                var known = SettingsRequest.FieldNames.FirstOrDefault(n => string.Equals(n, member.Name, StringComparison.OrdinalIgnoreCase));
                var name = known ?? Truncate(member.Name);
                if (known is null)
                {
                    errors[name] = [$"Unknown field. Allowed: {string.Join(", ", SettingsRequest.FieldNames)}."];
                }
                else if (!seen.Add(known))
                {
                    errors[known] = ["The field appears more than once."];
                }
            }

            return errors;
        }
    }

    private static string Truncate(string name) => name.Length <= 64 ? name : name[..64] + "…";

    private static SettingsResponse ToResponse(StoredSettings stored, SettingsStore store) => new(
        stored.InstallationId,
        stored.Configured,
        stored.Enabled,
        stored.Provider.ToWireName(),
        stored.Model,
        stored.SealedApiKey is not null,
        stored.ApiKeyLast4,
        store.DescribeKeyProblem(stored),
        stored.CustomInstructions,
        stored.IgnorePaths,
        stored.ReviewDrafts,
        stored.ReviewsPerHour,
        stored.ReviewsPerHour ?? SettingsStore.DefaultReviewsPerHour,
        stored.Suspended,
        stored.UpdatedAt);

    private static IResult Refused(HttpContext context, AccessResult auth)
    {
        switch (auth.Failure)
        {
            case AccessFailure.TooManyFailures:
                context.Response.Headers.RetryAfter = Math.Ceiling(auth.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                return Error("Too many failed authentication attempts; try again later.", StatusCodes.Status429TooManyRequests);
            case AccessFailure.GitHubUnavailable:
                return Error("GitHub could not be reached to check the token; try again later.", StatusCodes.Status502BadGateway);
            default:
                // RFC 6750 §3: a 401 names the scheme the client should use.
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return Error("A valid bearer token is required: ADMIN_TOKEN or a GitHub user access token.", StatusCodes.Status401Unauthorized);
        }
    }

    private static IResult NotFound() => Error("Not found", StatusCodes.Status404NotFound);

    private static IResult Error(string message, int status) =>
        TypedResults.Json(new ErrorResponse(message), ApiJsonContext.Default.ErrorResponse, statusCode: status);

    private static IResult Problem(IReadOnlyDictionary<string, string[]> errors) =>
        TypedResults.Json(ValidationProblem.For(errors), ApiJsonContext.Default.ValidationProblem, ValidationProblem.ContentType, StatusCodes.Status400BadRequest);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Settings saved for installation {InstallationId}: provider {Provider}, model {Model}, enabled {Enabled}, new API key {ApiKeyChanged}, by {CallerKind}")]
        public static partial void SettingsSaved(ILogger logger, long installationId, string provider, string model, bool enabled, bool apiKeyChanged, string callerKind);

        [LoggerMessage(2, LogLevel.Information, "API key for installation {InstallationId} checked with {Provider}: {Result}")]
        public static partial void KeyChecked(ILogger logger, long installationId, string provider, string result);
    }
}
