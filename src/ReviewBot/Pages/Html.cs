using System.Text;
using System.Text.Encodings.Web;

namespace ReviewBot.Pages;

// Server-rendered HTML without a template engine: every value that did not come from this file
// goes through HtmlEncoder (text and attribute values alike), so nothing a user, GitHub or the
// database supplies can become markup.
internal sealed class Html
{
    private readonly StringBuilder _builder = new();

    public static string Encode(string? value) => HtmlEncoder.Default.Encode(value ?? "");

    // Markup written by this file.
    public Html Raw(string markup)
    {
        _builder.Append(markup);
        return this;
    }

    // Untrusted text, encoded.
    public Html Text(string? value)
    {
        _builder.Append(Encode(value));
        return this;
    }

    public override string ToString() => _builder.ToString();

    // The frame of every page: its own stylesheet and script only (no fonts, CDNs or inline code, so
    // the Content-Security-Policy can forbid everything else), a skip link, and the sign-out form
    // (a POST with its antiforgery token) when a session exists.
    public static string Page(string title, string body, string? antiforgeryToken, bool script = false)
    {
        var html = new Html();
        html.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Raw("<title>").Text(title).Raw(" · ReviewBot</title>\n")
            .Raw("<link rel=\"stylesheet\" href=\"/assets/site.css\">\n");
        if (script)
        {
            html.Raw("<script src=\"/assets/settings.js\" defer></script>\n");
        }

        html.Raw("</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header>\n<nav aria-label=\"Site\">\n")
            .Raw("<a class=\"brand\" href=\"/\">ReviewBot</a>\n");
        if (antiforgeryToken is not null)
        {
            html.Raw("<a href=\"/installations\">Installations</a>\n")
                .Raw("<form method=\"post\" action=\"/auth/logout\" class=\"inline\">")
                .Raw(AntiforgeryField(antiforgeryToken))
                .Raw("<button type=\"submit\" class=\"link\">Sign out</button></form>\n");
        }

        html.Raw("</nav>\n</header>\n<main id=\"main\">\n").Raw(body).Raw("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    public static string AntiforgeryField(string token) =>
        $"<input type=\"hidden\" name=\"{PageSession.AntiforgeryFieldName}\" value=\"{Encode(token)}\">";
}
