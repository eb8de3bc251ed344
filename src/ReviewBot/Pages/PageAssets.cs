namespace ReviewBot.Pages;

// The page's own stylesheet and script, served from this binary: no fonts, CDNs or inline code, so
// the page works on a network without internet and the Content-Security-Policy allows only 'self'.
internal static class PageAssets
{
    // System fonts, one column that fits a phone, visible focus, colours with at least 4.5:1 contrast (WCAG 2.2 SC 1.4.3).
    public const string Css = """
        *, *::before, *::after { box-sizing: border-box; }
        html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; color: #1f2328; background: #fff; }
        body { margin: 0; }
        header { border-bottom: 1px solid #d0d7de; background: #f6f8fa; }
        nav { max-width: 46rem; margin: 0 auto; padding: .75rem 1rem; display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
        nav .brand { font-weight: 700; margin-right: auto; }
        main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
        a { color: #0550ae; }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, [tabindex]:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 1; }
        .muted { color: #59636e; }
        .button, button { display: inline-block; font: inherit; padding: .5rem 1rem; border-radius: 6px; border: 1px solid #1a7f37; background: #1a7f37; color: #fff; text-decoration: none; cursor: pointer; }
        button[disabled] { background: #6e7781; border-color: #6e7781; cursor: not-allowed; }
        button.link { background: none; border: none; color: #0550ae; text-decoration: underline; padding: 0; }
        form.inline { display: inline; margin: 0; }
        .field { margin: 0 0 1.25rem; }
        .field > label { display: block; font-weight: 600; }
        .field.check { display: flex; gap: .5rem; align-items: center; }
        .field.check input { width: 1.25rem; height: 1.25rem; margin: 0; }
        .hint { margin: .125rem 0 .25rem; color: #59636e; font-size: .9rem; }
        .hint.over { color: #b3261e; font-weight: 600; }
        input[type=text], input[type=password], select, textarea { display: block; width: 100%; font: inherit; padding: .5rem; border: 1px solid #6e7781; border-radius: 6px; background: #fff; color: inherit; }
        [aria-invalid=true] { border: 2px solid #b3261e; }
        .error { color: #b3261e; font-weight: 600; margin: .25rem 0; }
        .notice { background: #dafbe1; border-left: 4px solid #1a7f37; padding: .5rem .75rem; }
        .error-summary { border: 3px solid #b3261e; padding: .5rem 1rem; margin-bottom: 1.5rem; }
        .error-summary h2 { margin: .25rem 0; font-size: 1.1rem; }
        .error-summary a { color: #b3261e; font-weight: 600; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        ul.cards { list-style: none; padding: 0; }
        ul.cards li { border: 1px solid #d0d7de; border-radius: 6px; padding: .75rem 1rem; margin-bottom: .75rem; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: .9rem; }
        th, td { text-align: left; vertical-align: top; padding: .375rem .5rem; border-bottom: 1px solid #d0d7de; }
        code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
        """;

    // The live count of custom instructions: characters as the server counts them (code points, so an
    // emoji is one), announced politely to screen readers by the aria-live hint it updates.
    public const string Script = """
        "use strict";
        document.addEventListener("DOMContentLoaded", function () {
          var box = document.getElementById("customInstructions");
          var out = document.getElementById("customInstructions-count");
          if (!box || !out) { return; }
          var max = parseInt(box.getAttribute("data-max"), 10);
          function update() {
            var n = Array.from(box.value.replace(/\r\n/g, "\n")).length;
            out.textContent = n + " of " + max + " characters" + (n > max ? " (" + (n - max) + " too many)" : "");
            out.classList.toggle("over", n > max);
          }
          box.addEventListener("input", update);
          update();
        });
        """;
}
