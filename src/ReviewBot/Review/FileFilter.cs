using Microsoft.Extensions.FileSystemGlobbing;

namespace ReviewBot.Review;

// Decides which changed files the model sees. Everything left out is reported with its reason
// (CONTRACT §4, §6): nothing is dropped silently.
internal sealed class FileFilter
{
    private static readonly HashSet<string> LockFileNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock",
        "Cargo.lock", "Gemfile.lock", "poetry.lock", "Pipfile.lock", "uv.lock", "pdm.lock", "composer.lock",
        "go.sum", "packages.lock.json", "project.assets.json", "flake.lock", "mix.lock", "pubspec.lock",
        "Podfile.lock", "Package.resolved", "gradle.lockfile", "conan.lock", "deno.lock",
    };

    // Directory names whose content is third-party code copied into the repository.
    private static readonly HashSet<string> VendoredDirectories = new(StringComparer.OrdinalIgnoreCase)
    {
        "vendor", "node_modules", "third_party", "third-party", "thirdparty", "bower_components", "Pods", "Carthage",
    };

    private static readonly string[] GeneratedSuffixes =
    [
        ".g.cs", ".g.i.cs", ".designer.cs", ".generated.cs", ".pb.go", ".pb.cc", ".pb.h", "_pb2.py", "_pb2.pyi",
        "_pb2_grpc.py", ".pb.swift", "_generated.go", ".gen.go",
    ];

    private static readonly string[] MinifiedSuffixes = [".min.js", ".min.css", ".min.mjs", ".bundle.js", ".js.map", ".css.map"];

    private static readonly string[] BinaryExtensions =
    [
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".avif", ".tiff", ".pdf", ".zip", ".gz", ".tgz",
        ".bz2", ".xz", ".7z", ".rar", ".jar", ".war", ".dll", ".exe", ".so", ".dylib", ".a", ".o", ".class", ".pyc",
        ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".mov", ".wav", ".ogg", ".webm", ".sqlite", ".db",
        ".bin", ".dat", ".nupkg", ".wasm",
    ];

    private readonly Matcher? ignore;

    public FileFilter(IReadOnlyList<string> ignorePaths)
    {
        if (ignorePaths.Count == 0)
        {
            return;
        }

        ignore = new Matcher(StringComparison.Ordinal);
        foreach (var raw in ignorePaths)
        {
            var pattern = raw.Trim().TrimStart('/');
            if (pattern.Length == 0)
            {
                continue;
            }

            ignore.AddInclude(pattern);
            if (!pattern.Contains('/', StringComparison.Ordinal))
            {
                // As in .gitignore, a pattern without a slash ("*.snap") matches at any depth;
                // FileSystemGlobbing alone would anchor it at the root.
                ignore.AddInclude("**/" + pattern);
            }
        }
    }

    public SkippedFile? Check(DiffFile file)
    {
        if (file.Status == DiffFileStatus.Removed)
        {
            return new SkippedFile(file.Path, SkipReason.Deleted, "deleted");
        }

        if (file.IsBinary)
        {
            return new SkippedFile(file.Path, SkipReason.Binary, "binary file");
        }

        if (ignore is not null && ignore.Match(file.Path).HasMatches)
        {
            return new SkippedFile(file.Path, SkipReason.Ignored, "matches the installation's ignorePaths");
        }

        var name = Path.GetFileName(file.Path);
        if (LockFileNames.Contains(name))
        {
            return new SkippedFile(file.Path, SkipReason.Ignored, "lockfile");
        }

        if (IsVendored(file.Path))
        {
            return new SkippedFile(file.Path, SkipReason.Ignored, "vendored dependency");
        }

        if (EndsWithAny(file.Path, MinifiedSuffixes) || LooksMinified(file))
        {
            return new SkippedFile(file.Path, SkipReason.Ignored, "minified");
        }

        if (EndsWithAny(file.Path, GeneratedSuffixes) || HasGeneratedMarker(file))
        {
            return new SkippedFile(file.Path, SkipReason.Ignored, "generated");
        }

        if (file.PatchMissing)
        {
            return new SkippedFile(file.Path, SkipReason.TooLarge, "GitHub did not include the diff (too large)");
        }

        return null;
    }

    public static bool HasBinaryExtension(string path) => EndsWithAny(path, BinaryExtensions);

    private static bool IsVendored(string path)
    {
        var segments = path.Split('/');
        for (var i = 0; i < segments.Length - 1; i++)
        {
            if (VendoredDirectories.Contains(segments[i]))
            {
                return true;
            }
        }

        return false;
    }

    private static bool EndsWithAny(string path, string[] suffixes)
    {
        foreach (var suffix in suffixes)
        {
            if (path.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // A few very long added lines: bundler output rather than code someone wrote.
    private static bool LooksMinified(DiffFile file)
    {
        long chars = 0;
        var lines = 0;
        foreach (var hunk in file.Hunks)
        {
            foreach (var line in hunk.Lines)
            {
                if (line.Kind == DiffLineKind.Added)
                {
                    chars += line.Text.Length;
                    lines++;
                }
            }
        }

        return lines > 0 && chars / lines > 500;
    }

    // Conventional markers in a file's first lines: Go's "Code generated ... DO NOT EDIT."
    // (https://go.dev/s/generatedcode), .NET's "<auto-generated", and "@generated".
    private static bool HasGeneratedMarker(DiffFile file)
    {
        if (file.Hunks.Count == 0 || file.Hunks[0].NewStart > 1)
        {
            return false;
        }

        var lines = file.Hunks[0].Lines;
        for (var i = 0; i < lines.Count && i < 5; i++)
        {
            var text = lines[i].Text;
            if (lines[i].Kind != DiffLineKind.Removed &&
                ((text.Contains("Code generated", StringComparison.Ordinal) && text.Contains("DO NOT EDIT", StringComparison.Ordinal)) ||
                 text.Contains("<auto-generated", StringComparison.Ordinal) ||
                 text.Contains("@generated", StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}
