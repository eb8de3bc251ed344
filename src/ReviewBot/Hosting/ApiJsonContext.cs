using System.Text.Json;
using System.Text.Json.Serialization;

namespace ReviewBot.Hosting;

// The one source-generated JSON context for ReviewBot's own HTTP surface (health, settings API).
// GitHub's and the LLM providers' wire formats have their own contexts beside their clients.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ReviewBot.Settings.SettingsRequest))]
[JsonSerializable(typeof(ReviewBot.Settings.SettingsResponse))]
[JsonSerializable(typeof(ReviewBot.Settings.InstallationListResponse))]
[JsonSerializable(typeof(ReviewBot.Settings.JobListResponse))]
[JsonSerializable(typeof(ReviewBot.Settings.ErrorResponse))]
[JsonSerializable(typeof(ReviewBot.Settings.ValidationProblem))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
