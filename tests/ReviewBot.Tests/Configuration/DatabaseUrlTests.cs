using Npgsql;
using ReviewBot.Configuration;

namespace ReviewBot.Tests.Configuration;

public sealed class DatabaseUrlTests
{
    // libpq's parameter names as hosting platforms hand them out (Neon: channel_binding=require).
    [Fact]
    public void TryParse_maps_libpq_channel_binding_root_certificate_and_target_session_attrs()
    {
        Assert.True(DatabaseUrl.TryParse(
            "postgresql://u:p@ep-x.example.tech/db?sslmode=require&channel_binding=require&sslrootcert=%2Fetc%2Fca.pem&target_session_attrs=read-write", out var cs, out var error), error);
        var b = new NpgsqlConnectionStringBuilder(cs);

        Assert.Equal(ChannelBinding.Require, b.ChannelBinding);
        Assert.Equal("/etc/ca.pem", b.RootCertificate);
        Assert.Equal("read-write", b["Target Session Attributes"]?.ToString(), StringComparer.OrdinalIgnoreCase);
    }

    // A number out of range is a configuration error (exit 2 naming the variable), not a crash.
    [Theory]
    [InlineData("postgres://u@h/db?connect_timeout=99999999999")]
    [InlineData("postgres://u@h/db?channel_binding=sometimes")]
    public void TryParse_reports_an_out_of_range_or_unknown_value_as_an_error(string value)
    {
        Assert.False(DatabaseUrl.TryParse(value, out _, out var error));
        Assert.StartsWith("DATABASE_URL", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_reads_url_form_with_escaped_password_port_database_and_sslmode()
    {
        Assert.True(DatabaseUrl.TryParse("postgres://bot:p%40ss%3Aword@db.example.com:6543/reviews?sslmode=verify-full", out var cs, out _));
        var b = new NpgsqlConnectionStringBuilder(cs);

        Assert.Equal("db.example.com", b.Host);
        Assert.Equal(6543, b.Port);
        Assert.Equal("reviews", b.Database);
        Assert.Equal("bot", b.Username);
        Assert.Equal("p@ss:word", b.Password);
        Assert.Equal(SslMode.VerifyFull, b.SslMode);
    }

    [Fact]
    public void TryParse_accepts_postgresql_scheme_and_default_port()
    {
        Assert.True(DatabaseUrl.TryParse("postgresql://u@localhost/db", out var cs, out _));
        var b = new NpgsqlConnectionStringBuilder(cs);

        Assert.Equal(5432, b.Port);
        Assert.Equal("u", b.Username);
        Assert.Null(b.Password);
    }

    [Fact]
    public void TryParse_accepts_ipv6_host()
    {
        Assert.True(DatabaseUrl.TryParse("postgres://u:p@[::1]:5433/db", out var cs, out _));
        Assert.Equal("::1", new NpgsqlConnectionStringBuilder(cs).Host);
    }

    [Fact]
    public void TryParse_accepts_npgsql_connection_string()
    {
        Assert.True(DatabaseUrl.TryParse("Host=pg;Port=5433;Username=u;Password=secret;Database=d;Maximum Pool Size=20", out var cs, out _));
        var b = new NpgsqlConnectionStringBuilder(cs);

        Assert.Equal("pg", b.Host);
        Assert.Equal(20, b.MaxPoolSize);
        Assert.Equal("secret", b.Password);
    }

    [Theory]
    [InlineData("postgres://u@localhost/db")]
    [InlineData("Host=pg;Username=u")]
    public void TryParse_prepares_statements_unless_told_otherwise(string value)
    {
        Assert.True(DatabaseUrl.TryParse(value, out var cs, out _));
        var b = new NpgsqlConnectionStringBuilder(cs);

        Assert.True(b.MaxAutoPrepare > 0);
        Assert.Equal(2, b.AutoPrepareMinUsages);
    }

    [Theory]
    [InlineData("postgres://u@localhost/db?Max%20Auto%20Prepare=0")]
    [InlineData("Host=pg;Username=u;Max Auto Prepare=0")]
    [InlineData("Host=pg;Username=u;MaxAutoPrepare=0")]
    public void TryParse_keeps_automatic_preparation_off_when_the_url_says_so(string value)
    {
        Assert.True(DatabaseUrl.TryParse(value, out var cs, out _));
        Assert.Equal(0, new NpgsqlConnectionStringBuilder(cs).MaxAutoPrepare);
    }

    [Theory]
    [InlineData("Host=x;Bogus=1")]
    [InlineData("postgres://u:secretpw@host/db?sslmode=sometimes")]
    [InlineData("Port=5432")]
    public void TryParse_rejects_invalid_values_without_quoting_them(string value)
    {
        Assert.False(DatabaseUrl.TryParse(value, out _, out var error));
        Assert.StartsWith("DATABASE_URL", error, StringComparison.Ordinal);
        Assert.DoesNotContain("secretpw", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_masks_password()
    {
        DatabaseUrl.TryParse("postgres://u:topsecret@h/db", out var cs, out _);
        Assert.DoesNotContain("topsecret", DatabaseUrl.Describe(cs), StringComparison.Ordinal);
    }
}
