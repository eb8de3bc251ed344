using Microsoft.Extensions.Compliance.Classification;

namespace ReviewBot.Observability;

// The data classes ReviewBot's redaction knows. Anything marked [SecretData] in a [LoggerMessage]
// parameter is erased before it reaches a log sink (ObservabilityExtensions registers the redactor).
internal static class DataClassifications
{
    public const string TaxonomyName = "ReviewBot";

    public static DataClassification Secret { get; } = new(TaxonomyName, nameof(Secret));
}

[AttributeUsage(AttributeTargets.Parameter | AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class SecretDataAttribute : DataClassificationAttribute
{
    public SecretDataAttribute()
        : base(DataClassifications.Secret)
    {
    }
}
