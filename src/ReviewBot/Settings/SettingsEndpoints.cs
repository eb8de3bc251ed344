using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using ReviewBot.Hosting;

namespace ReviewBot.Settings;

// CONTRACT §3 settings API. Every handler authenticates first and answers an installation the caller
// may not see exactly as one that does not exist (same status, same body), so ids reveal nothing.
internal static class SettingsEndpoints
{
    // A full settings body is a few KiB (2,000 characters of instructions, 50 globs of 200); 64 KiB
    // leaves room for JSON escaping and refuses anything that is not a settings document.
    public const int MaxBodyBytes = 64 * 1024;

    public const int DefaultJobLimit = SettingsService.DefaultJobLimit;
    public const int MaxJobLimit = SettingsService.MaxJobLimit;

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

    private static async Task<IResult> ListInstallationsAsync(HttpContext context, SettingsAccess access, SettingsService settings, CancellationToken cancellationToken)
    {
        var auth = await access.AuthenticateAsync(context, cancellationToken);
        if (auth.Caller is null)
        {
            return Refused(context, auth);
        }

        var installations = await settings.ListInstallationsAsync(auth.Caller, cancellationToken);
        return TypedResults.Json(new InstallationListResponse(installations), ApiJsonContext.Default.InstallationListResponse);
    }

    private static async Task<IResult> GetSettingsAsync(long id, HttpContext context, SettingsAccess access, SettingsService settings, CancellationToken cancellationToken)
    {
        var auth = await access.AuthenticateAsync(context, cancellationToken);
        if (auth.Caller is null)
        {
            return Refused(context, auth);
        }

        return await settings.GetAsync(auth.Caller, id, cancellationToken) is { } response
            ? TypedResults.Json(response, ApiJsonContext.Default.SettingsResponse)
            : NotFound();
    }

    private static async Task<IResult> PutSettingsAsync(long id, HttpContext context, SettingsAccess access, SettingsService settings, CancellationToken cancellationToken)
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

        var (request, failure) = await ReadRequestAsync(context, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var result = await settings.SaveAsync(auth.Caller, id, request!, cancellationToken);
        return result?.Status switch
        {
            null => NotFound(),
            SettingsSaveStatus.Saved => TypedResults.Json(result.Settings!, ApiJsonContext.Default.SettingsResponse),
            SettingsSaveStatus.Invalid => Problem(result.Errors!),
            SettingsSaveStatus.KeyRejected => Error(result.Message!, StatusCodes.Status400BadRequest),
            SettingsSaveStatus.ProviderUnreachable => Error(result.Message!, StatusCodes.Status502BadGateway),
            _ => Error(result.Message!, StatusCodes.Status503ServiceUnavailable),
        };
    }

    private static async Task<IResult> ListJobsAsync(long id, string? limit, HttpContext context, SettingsAccess access, SettingsService settings, CancellationToken cancellationToken)
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

        var jobs = await settings.ListJobsAsync(auth.Caller, id, count, cancellationToken);
        return jobs is null ? NotFound() : TypedResults.Json(new JobListResponse(jobs), ApiJsonContext.Default.JobListResponse);
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

    private static IResult Refused(HttpContext context, AccessResult auth)
    {
        switch (auth.Failure)
        {
            case AccessFailure.TooManyFailures:
                context.Response.Headers.RetryAfter = Math.Ceiling(auth.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                return Error("Too many failed authentication attempts; try again later.", StatusCodes.Status429TooManyRequests);
            case AccessFailure.GitHubUnavailable:
                if (auth.RetryAfter > TimeSpan.Zero)
                {
                    // GitHub rate-limited the caller's token: it is not asked again before then.
                    context.Response.Headers.RetryAfter = Math.Ceiling(auth.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                }

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
}
