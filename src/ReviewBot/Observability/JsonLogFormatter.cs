using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace ReviewBot.Observability;

// CONTRACT §7: one JSON object per line with timestamp, level, message, category, and every
// structured property (including the enriched job/delivery ids) at the top level, so log
// pipelines can filter on installationId or jobId without digging into nested scopes.
internal sealed class JsonLogFormatter : ConsoleFormatter
{
    public const string FormatterName = "reviewbot-json";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _writer;

    [ThreadStatic]
    private static List<string>? _written;

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public JsonLogFormatter()
        : base(FormatterName)
    {
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        // One buffer and writer per thread, reused: this runs for every log line, on hot paths too.
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = _writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        writer.Reset(buffer);
        var written = _written ??= new List<string>(16);
        written.Clear();

        writer.WriteStartObject();
        writer.WriteString("timestamp", DateTimeOffset.UtcNow);
        writer.WriteString("level", LevelName(logEntry.LogLevel));
        writer.WriteString("category", logEntry.Category);
        writer.WriteString("message", message ?? "");
        if (logEntry.EventId.Id != 0 || logEntry.EventId.Name is not null)
        {
            writer.WriteString("event", logEntry.EventId.Name ?? logEntry.EventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }


        if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> properties)
        {
            WriteProperties(writer, properties, written);
        }

        scopeProvider?.ForEachScope(
            (scope, state) =>
            {
                if (scope is IReadOnlyList<KeyValuePair<string, object?>> scopeProperties)
                {
                    WriteProperties(state.Writer, scopeProperties, state.Written);
                }
            },
            (Writer: writer, Written: written));

        if (logEntry.Exception is { } exception)
        {
            // Type and stack only: exception messages can quote upstream responses, and the
            // contract forbids secrets anywhere in logs.
            writer.WriteString("exception", exception.GetType().FullName + Environment.NewLine + exception.StackTrace);
        }

        writer.WriteEndObject();
        writer.Flush();

        textWriter.Write(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write('\n');
    }

    private static void WriteProperties(Utf8JsonWriter writer, IReadOnlyList<KeyValuePair<string, object?>> properties, List<string> written)
    {
        for (var index = 0; index < properties.Count; index++)
        {
            var (key, value) = properties[index];
            // A linear scan: a line has a handful of properties, fewer than a hash set costs to build.
            if (key is "{OriginalFormat}" or "timestamp" or "level" or "category" or "message" or "event" or "exception" || written.Contains(key))
            {
                continue;
            }

            written.Add(key);

            switch (value)
            {
                case null:
                    writer.WriteNull(key);
                    break;
                case string s:
                    writer.WriteString(key, s);
                    break;
                case bool b:
                    writer.WriteBoolean(key, b);
                    break;
                case int i:
                    writer.WriteNumber(key, i);
                    break;
                case long l:
                    writer.WriteNumber(key, l);
                    break;
                case double d when double.IsFinite(d):
                    writer.WriteNumber(key, d);
                    break;
                case float f when float.IsFinite(f):
                    writer.WriteNumber(key, f);
                    break;
                case decimal m:
                    writer.WriteNumber(key, m);
                    break;
                case DateTimeOffset dto:
                    writer.WriteString(key, dto);
                    break;
                case TimeSpan ts:
                    writer.WriteNumber(key, ts.TotalMilliseconds);
                    break;
                default:
                    writer.WriteString(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "critical",
        _ => "none",
    };
}
