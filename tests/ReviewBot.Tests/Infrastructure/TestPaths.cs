namespace ReviewBot.Tests.Infrastructure;

internal static class TestPaths
{
    // The repository root: the directory holding ReviewBot.slnx, found from the test binary upwards.
    public static string RepositoryRoot { get; } = FindRoot();

    // ../shared/fixtures beside the repository (third-party payloads, see SOURCES.md there).
    public static string Fixtures { get; } = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "fixtures"));

    public static string Fixture(string relativePath) => Path.Combine(Fixtures, relativePath);

    public static string ReadFixture(string relativePath) => File.ReadAllText(Fixture(relativePath));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ReviewBot.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ReviewBot.slnx not found above " + AppContext.BaseDirectory);
    }
}
