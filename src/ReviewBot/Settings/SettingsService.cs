using ReviewBot.Llm;

namespace ReviewBot.Settings;

internal enum SettingsSaveStatus
{
    Saved,
    Invalid,              // 400 problem: Errors names each field
    KeyRejected,          // 400 "Invalid API key": the provider refused the key
    ProviderUnreachable,  // 502: the key could not be checked
    KeyCheckUnavailable,  // 503: no key validator registered on this server
}

internal sealed record SettingsSaveResult(
    SettingsSaveStatus Status,
    SettingsResponse? Settings = null,
    IReadOnlyDictionary<string, string[]>? Errors = null,
    string? Message = null);

// The rules of CONTRACT §3 settings, shared by the JSON API (SettingsEndpoints) and the browser page
// (Pages/), so both see, list and save exactly the same way: a caller sees only the installations it
// may (anything else is "not found"), input is validated by SettingsValidator, a new key is checked
// with the provider before anything is stored, and the key itself never leaves this class.
internal sealed partial class SettingsService(SettingsStore store, IServiceProvider services, ILogger<SettingsService> logger)
{
    public const int DefaultJobLimit = 20;
    public const int MaxJobLimit = 100;

    // Provider list-models calls normally answer in well under a second; a hung provider must not
    // hold the request (and the user) for minutes.
    private static readonly TimeSpan KeyValidationTimeout = TimeSpan.FromSeconds(20);

    public async Task<IReadOnlyList<InstallationSummary>> ListInstallationsAsync(SettingsCaller caller, CancellationToken cancellationToken)
    {
        if (caller is GitHubUserCaller user)
        {
            // GitHub's list is the truth for who may see what; the local rows add whether each is configured.
            var local = (await store.ListInstallationsAsync(user.Installations.Select(i => i.Id).ToArray(), cancellationToken)).ToDictionary(i => i.Id);
            return user.Installations
                .Select(i => local.TryGetValue(i.Id, out var known)
                    ? known with { Account = i.AccountLogin, AccountType = i.AccountType, Suspended = i.Suspended || known.Suspended }
                    : new InstallationSummary(i.Id, i.AccountLogin, i.AccountType, i.Suspended, false, false))
                .ToList();
        }

        return await store.ListInstallationsAsync(null, cancellationToken);
    }

    // null: not found for this caller (not listed for it, or unknown to an operator).
    public async Task<SettingsResponse?> GetAsync(SettingsCaller caller, long installationId, CancellationToken cancellationToken)
    {
        if (!caller.MaySee(installationId))
        {
            return null;
        }

        var stored = await store.GetAsync(installationId, cancellationToken);
        // An operator asking for an id ReviewBot has never heard of gets 404, not invented defaults;
        // a user whose token GitHub lists the installation for sees the defaults it would start with.
        if (caller is OperatorCaller && !stored.InstallationKnown)
        {
            return null;
        }

        return ToResponse(stored);
    }

    // null: not found for this caller.
    public async Task<IReadOnlyList<JobSummary>?> ListJobsAsync(SettingsCaller caller, long installationId, int limit, CancellationToken cancellationToken)
    {
        if (!caller.MaySee(installationId))
        {
            return null;
        }

        return await store.ListJobsAsync(installationId, Math.Clamp(limit, 1, MaxJobLimit), cancellationToken);
    }

    // null: not found for this caller (checked before the input, so a hidden id reveals nothing).
    public async Task<SettingsSaveResult?> SaveAsync(SettingsCaller caller, long installationId, SettingsRequest request, CancellationToken cancellationToken)
    {
        if (!caller.MaySee(installationId))
        {
            return null;
        }

        var (update, errors) = SettingsValidator.Validate(request);
        if (update is null)
        {
            return new SettingsSaveResult(SettingsSaveStatus.Invalid, Errors: errors);
        }

        if (update.ApiKey is not null)
        {
            // Resolved per call: the LLM clients are registered by their own module (Llm/).
            if (services.GetService<ILlmClientFactory>() is not { } llm)
            {
                return new SettingsSaveResult(SettingsSaveStatus.KeyCheckUnavailable, Message: "API key validation is not available on this server; nothing was saved.");
            }

            var validation = await ValidateKeyAsync(llm, update.Provider, update.ApiKey, cancellationToken);
            Log.KeyChecked(logger, installationId, update.Provider.ToWireName(), validation.ToString());
            switch (validation)
            {
                case KeyValidation.Rejected:
                    return new SettingsSaveResult(SettingsSaveStatus.KeyRejected, Message: "Invalid API key");
                case KeyValidation.Unreachable:
                    return new SettingsSaveResult(
                        SettingsSaveStatus.ProviderUnreachable,
                        Message: $"The {update.Provider.ToWireName()} API could not be reached to check the API key; nothing was saved. Try again later.");
            }
        }

        if (await store.SaveAsync(installationId, update, cancellationToken) == SettingsSaveOutcome.ProviderChangedWithoutKey)
        {
            return new SettingsSaveResult(SettingsSaveStatus.Invalid, Errors: new Dictionary<string, string[]>
            {
                ["apiKey"] = ["The stored API key belongs to the previous provider: send an apiKey for the new llmProvider."],
            });
        }

        Log.SettingsSaved(logger, installationId, update.Provider.ToWireName(), update.Model, update.Enabled, update.ApiKey is not null, caller is OperatorCaller ? "operator" : "github-user");
        return new SettingsSaveResult(SettingsSaveStatus.Saved, ToResponse(await store.GetAsync(installationId, cancellationToken)));
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

    private SettingsResponse ToResponse(StoredSettings stored) => new(
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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Settings saved for installation {InstallationId}: provider {Provider}, model {Model}, enabled {Enabled}, new API key {ApiKeyChanged}, by {CallerKind}")]
        public static partial void SettingsSaved(ILogger logger, long installationId, string provider, string model, bool enabled, bool apiKeyChanged, string callerKind);

        [LoggerMessage(2, LogLevel.Information, "API key for installation {InstallationId} checked with {Provider}: {Result}")]
        public static partial void KeyChecked(ILogger logger, long installationId, string provider, string result);
    }
}
