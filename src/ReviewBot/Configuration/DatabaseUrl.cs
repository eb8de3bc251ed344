using Npgsql;

namespace ReviewBot.Configuration;

// DATABASE_URL arrives either as the URL every hosting platform hands out
// (postgres://user:pass@host:port/db?sslmode=require) or as an Npgsql connection string.
internal static class DatabaseUrl
{
    // libpq's parameter names that Npgsql spells differently (Neon's URLs carry channel_binding).
    private static readonly Dictionary<string, string> LibpqNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["channel_binding"] = "Channel Binding",
        ["sslrootcert"] = "Root Certificate",
        ["target_session_attrs"] = "Target Session Attributes",
    };

    public static bool TryParse(string value, out string connectionString, out string? error)
    {
        connectionString = "";
        error = null;
        try
        {
            var builder = value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
                || value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
                ? FromUrl(value)
                : new NpgsqlConnectionStringBuilder(value);

            if (string.IsNullOrEmpty(builder.Host))
            {
                error = "DATABASE_URL names no host";
                return false;
            }

            builder.ApplicationName ??= "ReviewBot";
            if (!Uri.UnescapeDataString(value).Replace(" ", "", StringComparison.Ordinal).Contains("autoprepare", StringComparison.OrdinalIgnoreCase))
            {
                // Prepared statements: the queue's claim is one statement of several CTEs whose planning
                // costs more than its execution, and every webhook runs the same intake statement.
                // Npgsql prepares a statement on its second use, per physical connection. Behind a
                // PgBouncer older than 1.21 in transaction mode, set `Max Auto Prepare=0` in DATABASE_URL.
                // https://www.npgsql.org/doc/prepare.html#automatic-preparation
                builder.MaxAutoPrepare = 64;
                builder.AutoPrepareMinUsages = 2;
            }

            connectionString = builder.ConnectionString;
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException or FormatException or InvalidCastException or OverflowException)
        {
            // The exception text may quote the value (and so a password): report only the shape.
            error = "DATABASE_URL is neither a postgres:// URL nor a valid Npgsql connection string";
            return false;
        }
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string value)
    {
        var uri = new Uri(value);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
        };

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var val = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (key.ToLowerInvariant())
            {
                case "sslmode":
                    builder.SslMode = val.ToLowerInvariant() switch
                    {
                        "disable" => SslMode.Disable,
                        "allow" => SslMode.Allow,
                        "prefer" => SslMode.Prefer,
                        "require" => SslMode.Require,
                        "verify-ca" => SslMode.VerifyCA,
                        "verify-full" => SslMode.VerifyFull,
                        _ => throw new FormatException("sslmode"),
                    };
                    break;
                case "application_name":
                    builder.ApplicationName = val;
                    break;
                case "connect_timeout":
                    builder.Timeout = int.Parse(val, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                default:
                    // Anything else is an Npgsql keyword (e.g. Maximum Pool Size), or libpq's name for one.
                    builder[LibpqNames.GetValueOrDefault(key, key)] = val;
                    break;
            }
        }

        return builder;
    }

    // A description safe to print: never the password.
    public static string Describe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"host={builder.Host} port={builder.Port} database={builder.Database ?? "(default)"} username={builder.Username ?? "(default)"} password={(string.IsNullOrEmpty(builder.Password) ? "(none)" : "(masked)")} sslmode={builder.SslMode}";
    }
}
