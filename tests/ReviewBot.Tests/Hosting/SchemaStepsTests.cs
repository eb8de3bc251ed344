using ReviewBot.Hosting;

namespace ReviewBot.Tests.Hosting;

public sealed class SchemaStepsTests
{
    [Fact]
    public void Embedded_schema_has_consecutive_steps_from_one()
    {
        var steps = SchemaMigrator.Steps;

        Assert.NotEmpty(steps);
        Assert.Equal(Enumerable.Range(1, steps.Count), steps.Select(s => s.Version));
        Assert.All(steps, s => Assert.False(string.IsNullOrWhiteSpace(s.Title)));
    }

    [Fact]
    public void ParseSteps_rejects_gaps_in_numbering()
    {
        Assert.Throws<InvalidOperationException>(() => SchemaMigrator.ParseSteps("-- step 1: a\nSELECT 1;\n-- step 3: c\nSELECT 3;\n"));
    }

    [Fact]
    public void Every_create_statement_is_idempotent()
    {
        foreach (var step in SchemaMigrator.Steps)
        {
            foreach (var line in step.Sql.Split('\n').Where(l => l.TrimStart().StartsWith("CREATE ", StringComparison.Ordinal)))
            {
                Assert.Contains("IF NOT EXISTS", line, StringComparison.Ordinal);
            }
        }
    }
}
