using System.Globalization;
using System.Text;

namespace ReviewBot.Review;

// Parses unified diffs: whole `git diff` output (Parse) and the per-file `patch` of GitHub's
// "List pull requests files" API (ParsePatch), which is the same format from the first `@@` on.
// Format: git-diff(1) "GENERATING PATCH TEXT WITH -P" and "combined diff format" (not supported:
// merge diffs have `@@@` headers and are never what the files or compare APIs return).
//
// Hunk bodies are read by counting: a hunk header promises OldCount old lines and NewCount new
// lines, and exactly that many lines belong to the hunk. That is what makes content lines such as
// `--- a` (a removed `-- a`) or `+++ b` (an added `++ b`) unambiguous, and it keeps every line
// number exact.
internal static class DiffParser
{
    private const string NoNewlineMarkerPrefix = "\\";

    public static IReadOnlyList<DiffFile> Parse(string diff)
    {
        var files = new List<DiffFile>();
        var reader = new LineReader(diff);
        FileBuilder? current = null;

        while (reader.TryPeek(out var line))
        {
            if (line.StartsWith("diff --git ", StringComparison.Ordinal))
            {
                reader.Advance();
                Flush(files, current);
                current = FileBuilder.FromGitHeader(line["diff --git ".Length..], reader.LineNumber);
            }
            else if (line.StartsWith("@@", StringComparison.Ordinal))
            {
                if (current is null)
                {
                    throw new DiffFormatException($"line {reader.LineNumber + 1}: hunk before any file header");
                }

                current.Hunks.Add(ReadHunk(ref reader, current.Hunks.Count));
            }
            else if (line.StartsWith("--- ", StringComparison.Ordinal) && reader.PeekSecondStartsWith("+++ "))
            {
                // Inside a git header these name the two sides; elsewhere they start a plain
                // `diff -u` file (no `diff --git` line).
                reader.Advance();
                var oldName = StripTimestamp(line[4..]);
                reader.TryPeek(out var plus);
                reader.Advance();
                var newName = StripTimestamp(plus[4..]);
                if (current is null || current.Hunks.Count > 0 || current.SawFileLines)
                {
                    Flush(files, current);
                    current = new FileBuilder();
                }

                current.SawFileLines = true;
                current.SetFromFileLines(oldName, newName);
            }
            else
            {
                reader.Advance();
                if (current is not null && current.Hunks.Count == 0)
                {
                    current.ReadExtendedHeader(line, ref reader);
                }

                // Anything else between files (a commit message from format-patch, `Only in ...`,
                // a stray `\ No newline` after a finished hunk) carries no reviewable line.
            }
        }

        Flush(files, current);
        return files;
    }

    // A GitHub files-API patch: hunks only, no file header. An empty or missing patch gives no hunks.
    public static IReadOnlyList<DiffHunk> ParseHunks(string? patch)
    {
        var hunks = new List<DiffHunk>();
        if (string.IsNullOrEmpty(patch))
        {
            return hunks;
        }

        var reader = new LineReader(patch);
        while (reader.TryPeek(out var line))
        {
            if (line.StartsWith("@@", StringComparison.Ordinal))
            {
                hunks.Add(ReadHunk(ref reader, hunks.Count));
            }
            else if (line.StartsWith(NoNewlineMarkerPrefix, StringComparison.Ordinal) || line.Length == 0)
            {
                reader.Advance();
            }
            else
            {
                throw new DiffFormatException($"line {reader.LineNumber + 1}: expected a hunk header (@@ -a,b +c,d @@)");
            }
        }

        return hunks;
    }

    private static void Flush(List<DiffFile> files, FileBuilder? builder)
    {
        if (builder is not null)
        {
            files.Add(builder.Build());
        }
    }

    private static DiffHunk ReadHunk(ref LineReader reader, int index)
    {
        reader.TryPeek(out var header);
        var headerLine = reader.LineNumber + 1;
        reader.Advance();
        if (!TryParseHunkHeader(header, out var oldStart, out var oldCount, out var newStart, out var newCount))
        {
            throw new DiffFormatException($"line {headerLine}: malformed hunk header");
        }

        // The counts are the header's claim, not the input's size: a crafted header (counts near
        // int.MaxValue) must fail as a bad diff below, not overflow or reserve gigabytes here.
        var lines = new List<DiffLine>((int)Math.Min((long)oldCount + newCount, 1024));
        int oldLine = oldStart, newLine = newStart, oldLeft = oldCount, newLeft = newCount;
        while (oldLeft > 0 || newLeft > 0)
        {
            if (!reader.TryPeek(out var line))
            {
                throw new DiffFormatException($"line {headerLine}: hunk ends before its {oldCount} old and {newCount} new lines");
            }

            reader.Advance();
            if (line.Length == 0)
            {
                // An empty context line whose leading space was stripped (editors and e-mail do this).
                line = " ";
            }

            switch (line[0])
            {
                case ' ' when oldLeft > 0 && newLeft > 0:
                    lines.Add(new DiffLine(DiffLineKind.Context, oldLine++, newLine++, line[1..].ToString()));
                    oldLeft--;
                    newLeft--;
                    break;
                case '+' when newLeft > 0:
                    lines.Add(new DiffLine(DiffLineKind.Added, 0, newLine++, line[1..].ToString()));
                    newLeft--;
                    break;
                case '-' when oldLeft > 0:
                    lines.Add(new DiffLine(DiffLineKind.Removed, oldLine++, 0, line[1..].ToString()));
                    oldLeft--;
                    break;
                case '\\':
                    // "\ No newline at end of file": about the line before it, not a line itself.
                    break;
                default:
                    throw new DiffFormatException($"line {reader.LineNumber}: line does not fit hunk at line {headerLine} ({oldLeft} old and {newLeft} new lines still expected)");
            }
        }

        // A marker right after the hunk's last line belongs to it.
        while (reader.TryPeek(out var after) && after.StartsWith(NoNewlineMarkerPrefix, StringComparison.Ordinal))
        {
            reader.Advance();
        }

        return new DiffHunk(index, oldStart, oldCount, newStart, newCount, header.ToString(), lines);
    }

    // "@@ -l[,s] +l[,s] @@ optional section heading"; an omitted count means 1.
    internal static bool TryParseHunkHeader(ReadOnlySpan<char> header, out int oldStart, out int oldCount, out int newStart, out int newCount)
    {
        oldStart = oldCount = newStart = newCount = 0;
        if (!header.StartsWith("@@ -", StringComparison.Ordinal) || header.StartsWith("@@@", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = header[4..];
        if (!TryRange(ref rest, out oldStart, out oldCount) || !rest.StartsWith(" +", StringComparison.Ordinal))
        {
            return false;
        }

        rest = rest[2..];
        return TryRange(ref rest, out newStart, out newCount) && rest.StartsWith(" @@", StringComparison.Ordinal);
    }

    private static bool TryRange(ref ReadOnlySpan<char> text, out int start, out int count)
    {
        count = 1;
        var end = 0;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }

        if (!int.TryParse(text[..end], NumberStyles.None, CultureInfo.InvariantCulture, out start))
        {
            return false;
        }

        text = text[end..];
        if (text.Length > 0 && text[0] == ',')
        {
            end = 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (!int.TryParse(text[1..end], NumberStyles.None, CultureInfo.InvariantCulture, out count))
            {
                return false;
            }

            text = text[end..];
        }

        return true;
    }

    // `--- a/file\t2024-01-01 ...` (diff -u) and git's trailing tab after names with spaces.
    private static string StripTimestamp(ReadOnlySpan<char> name)
    {
        var tab = name.IndexOf('\t');
        return (tab >= 0 ? name[..tab] : name).ToString();
    }

    // A name as git writes it: plain, or C-quoted ("a/caf\303\251.txt") when it has unusual bytes
    // (core.quotePath; git-config(1)).
    internal static string Unquote(string name)
    {
        if (name.Length < 2 || name[0] != '"' || name[^1] != '"')
        {
            return name;
        }

        var bytes = new List<byte>(name.Length);
        for (var i = 1; i < name.Length - 1; i++)
        {
            var c = name[i];
            if (c != '\\' || i + 1 >= name.Length - 1)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
                continue;
            }

            var e = name[++i];
            switch (e)
            {
                case >= '0' and <= '7' when i + 2 < name.Length - 1:
                    bytes.Add((byte)(((e - '0') << 6) | ((name[i + 1] - '0') << 3) | (name[i + 2] - '0')));
                    i += 2;
                    break;
                case 'n': bytes.Add((byte)'\n'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case 'r': bytes.Add((byte)'\r'); break;
                case 'a': bytes.Add(7); break;
                case 'b': bytes.Add(8); break;
                case 'f': bytes.Add(12); break;
                case 'v': bytes.Add(11); break;
                default: bytes.Add((byte)e); break;
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static string? StripPrefix(string name, char side)
    {
        if (name == "/dev/null")
        {
            return null;
        }

        return name.Length > 2 && name[0] == side && name[1] == '/' ? name[2..] : name;
    }

    private sealed class FileBuilder
    {
        private string? oldPath;
        private string? newPath;
        private string? renameFrom;
        private string? renameTo;
        private bool added;
        private bool removed;
        private bool copied;
        private bool binary;
        private bool modeChanged;

        public List<DiffHunk> Hunks { get; } = [];

        public bool SawFileLines { get; set; }

        public static FileBuilder FromGitHeader(ReadOnlySpan<char> names, int lineNumber)
        {
            var builder = new FileBuilder();
            var text = names.ToString();
            string? a = null, b = null;
            if (text.StartsWith('"'))
            {
                var close = IndexOfClosingQuote(text, 0);
                if (close > 0 && close + 2 <= text.Length)
                {
                    a = Unquote(text[..(close + 1)]);
                    b = Unquote(text[(close + 2)..]);
                }
            }
            else if (text.EndsWith('"'))
            {
                var open = text.LastIndexOf(" \"", StringComparison.Ordinal);
                if (open > 0)
                {
                    a = text[..open];
                    b = Unquote(text[(open + 1)..]);
                }
            }
            else if (text.Length % 2 == 1 && text[..(text.Length / 2)].AsSpan(1).SequenceEqual(text.AsSpan((text.Length / 2) + 2)))
            {
                // "a/P b/P": the same path on both sides, even when P contains spaces.
                a = text[..(text.Length / 2)];
                b = text[((text.Length / 2) + 1)..];
            }
            else
            {
                // Different names with spaces are ambiguous here; rename/---/+++ lines settle them.
                var split = text.IndexOf(" b/", StringComparison.Ordinal);
                if (split > 0)
                {
                    a = text[..split];
                    b = text[(split + 1)..];
                }
            }

            if (a is null || b is null)
            {
                throw new DiffFormatException($"line {lineNumber}: cannot read the file names of `diff --git {text}`");
            }

            builder.oldPath = StripPrefix(a, 'a');
            builder.newPath = StripPrefix(b, 'b');
            return builder;
        }

        public void SetFromFileLines(string oldName, string newName)
        {
            var o = StripPrefix(Unquote(oldName), 'a');
            var n = StripPrefix(Unquote(newName), 'b');
            if (o is null)
            {
                added = true;
            }
            else
            {
                oldPath = o;
            }

            if (n is null)
            {
                removed = true;
            }
            else
            {
                newPath = n;
            }
        }

        public void ReadExtendedHeader(ReadOnlySpan<char> line, ref LineReader reader)
        {
            if (line.StartsWith("new file mode", StringComparison.Ordinal))
            {
                added = true;
            }
            else if (line.StartsWith("deleted file mode", StringComparison.Ordinal))
            {
                removed = true;
            }
            else if (line.StartsWith("old mode", StringComparison.Ordinal) || line.StartsWith("new mode", StringComparison.Ordinal))
            {
                modeChanged = true;
            }
            else if (line.StartsWith("rename from ", StringComparison.Ordinal))
            {
                renameFrom = Unquote(line["rename from ".Length..].ToString());
            }
            else if (line.StartsWith("rename to ", StringComparison.Ordinal))
            {
                renameTo = Unquote(line["rename to ".Length..].ToString());
            }
            else if (line.StartsWith("copy from ", StringComparison.Ordinal))
            {
                copied = true;
                renameFrom = Unquote(line["copy from ".Length..].ToString());
            }
            else if (line.StartsWith("copy to ", StringComparison.Ordinal))
            {
                copied = true;
                renameTo = Unquote(line["copy to ".Length..].ToString());
            }
            else if (line.StartsWith("Binary files ", StringComparison.Ordinal))
            {
                binary = true;
            }
            else if (line.StartsWith("GIT binary patch", StringComparison.Ordinal))
            {
                binary = true;
                // The base85 payload runs until the next file.
                while (reader.TryPeek(out var next) && !next.StartsWith("diff --git ", StringComparison.Ordinal))
                {
                    reader.Advance();
                }
            }
        }

        public DiffFile Build()
        {
            var path = renameTo ?? newPath ?? oldPath ?? throw new DiffFormatException("a file header names no path");
            var previous = renameFrom ?? oldPath;
            DiffFileStatus status;
            if (removed)
            {
                status = DiffFileStatus.Removed;
                path = oldPath ?? path;
                previous = null;
            }
            else if (added || copied)
            {
                status = DiffFileStatus.Added;
                previous = copied ? previous : null;
            }
            else if (previous is not null && previous != path)
            {
                status = DiffFileStatus.Renamed;
            }
            else
            {
                status = DiffFileStatus.Modified;
                previous = null;
            }

            return new DiffFile
            {
                Path = path,
                PreviousPath = previous,
                Status = status,
                IsBinary = binary,
                ModeChanged = modeChanged,
                Hunks = Hunks,
            };
        }

        private static int IndexOfClosingQuote(string text, int open)
        {
            for (var i = open + 1; i < text.Length; i++)
            {
                if (text[i] == '\\')
                {
                    i++;
                }
                else if (text[i] == '"')
                {
                    return i;
                }
            }

            return -1;
        }
    }

    // Walks lines without copying: each line is a span without its "\n" or "\r\n" terminator, so
    // CRLF files and diffs saved with CRLF line endings read the same.
    private ref struct LineReader(string text)
    {
        private readonly string text = text;
        private int position;
        private int lineNumber;

        public readonly int LineNumber => lineNumber;

        public readonly bool TryPeek(out ReadOnlySpan<char> line)
        {
            if (position >= text.Length)
            {
                line = default;
                return false;
            }

            line = LineAt(position, out _);
            return true;
        }

        public readonly bool PeekSecondStartsWith(string prefix)
        {
            if (position >= text.Length)
            {
                return false;
            }

            LineAt(position, out var next);
            return next < text.Length && LineAt(next, out _).StartsWith(prefix, StringComparison.Ordinal);
        }

        public void Advance()
        {
            LineAt(position, out position);
            lineNumber++;
        }

        private readonly ReadOnlySpan<char> LineAt(int start, out int next)
        {
            var rest = text.AsSpan(start);
            var newline = rest.IndexOf('\n');
            if (newline < 0)
            {
                next = text.Length;
                return rest;
            }

            next = start + newline + 1;
            var line = rest[..newline];
            return line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;
        }
    }
}
