using System.Text.Json;
using System.Text.Json.Serialization;

namespace ReviewBot.Hosting;

// The one source-generated JSON context for ReviewBot's own HTTP surface (health, settings API).
// GitHub's and the LLM providers' wire formats have their own contexts beside their clients.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(HealthResponse))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
