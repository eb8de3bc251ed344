#!/usr/bin/env node
// Creates ReviewBot's GitHub App from app.yml through GitHub's manifest flow, in one browser click,
// and writes the credentials ReviewBot needs. No dependencies beyond Node.js 18+.
//
// https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
//   1. a form POSTs the manifest (JSON, field `manifest`) to {GITHUB_WEB_URL}/settings/apps/new
//      (or /organizations/ORG/settings/apps/new), with a `state` parameter;
//   2. after "Create GitHub App", GitHub redirects to the manifest's redirect_url with ?code=&state=;
//   3. POST {GITHUB_API_URL}/app-manifests/{code}/conversions (no authentication; the code is valid
//      for one hour and once) answers with id, pem, webhook_secret, client_id and client_secret.
//
// This script serves step 1's form on http://localhost:PORT/, receives step 2 on /callback and does
// step 3. Run it on the machine whose browser you use. Without a browser there, open the printed
// URL elsewhere; the final redirect to localhost then fails, but its address bar holds ?code=...:
// finish with --code CODE.

import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const usage = `usage: node tools/create-github-app/create-github-app.mjs --public-url URL [options]

  --public-url URL    ReviewBot's external base URL (webhooks go to URL/api/github/webhooks);
                      default: $PUBLIC_URL
  --org ORG           register the App under organization ORG (default: your personal account)
  --github-url URL    GitHub's web address; GitHub Enterprise Server: https://HOST
                      (default: $GITHUB_WEB_URL or https://github.com)
  --api-url URL       GitHub's REST API (default: $GITHUB_API_URL, https://api.github.com for
                      github.com, https://HOST/api/v3 otherwise)
  --name NAME         the App's name (default: app.yml's; must be unique on GitHub)
  --port N            local port for the form and the redirect (default 3999)
  --out FILE          where to write the credentials (default github-app.env; never overwritten)
  --code CODE         skip the browser: exchange a code from an earlier redirect
  --print-manifest    print the manifest JSON and exit`;

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  console.log(usage);
  process.exit(0);
}

const publicUrl = trimSlash(args["public-url"] ?? process.env.PUBLIC_URL ?? "");
if (!/^https?:\/\/[^/]+/.test(publicUrl)) {
  fail("--public-url (or PUBLIC_URL) must be ReviewBot's external http(s) base URL, e.g. https://reviewbot.example.com");
}
const webUrl = trimSlash(args["github-url"] ?? process.env.GITHUB_WEB_URL ?? "https://github.com");
const apiUrl = trimSlash(args["api-url"] ?? process.env.GITHUB_API_URL
  ?? (new URL(webUrl).host === "github.com" ? "https://api.github.com" : `${webUrl}/api/v3`));
const port = Number(args.port ?? 3999);
const outFile = args.out ?? "github-app.env";

const here = dirname(fileURLToPath(import.meta.url));
const manifest = loadManifest(join(here, "..", "..", "app.yml"), publicUrl);
if (args.name) manifest.name = args.name;
manifest.redirect_url = `http://localhost:${port}/callback`;

if (args["print-manifest"]) {
  console.log(JSON.stringify(manifest, null, 2));
  process.exit(0);
}
if (existsSync(outFile)) fail(`${outFile} exists; move it away or pass --out`);

if (args.code) {
  await exchange(args.code);
  process.exit(0);
}

const state = randomBytes(16).toString("hex");
const registerUrl = args.org
  ? `${webUrl}/organizations/${encodeURIComponent(args.org)}/settings/apps/new?state=${state}`
  : `${webUrl}/settings/apps/new?state=${state}`;

const server = createServer(async (req, res) => {
  const url = new URL(req.url, `http://localhost:${port}`);
  if (req.method === "GET" && url.pathname === "/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(formPage());
    return;
  }
  if (req.method === "GET" && url.pathname === "/callback") {
    if (url.searchParams.get("state") !== state || !url.searchParams.get("code")) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("Unexpected callback: state does not match this run.");
      return;
    }
    try {
      const app = await exchange(url.searchParams.get("code"));
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(page("ReviewBot App created",
        `<p>The App <b>${escapeHtml(app.name ?? app.slug)}</b> exists and its credentials are in <code>${escapeHtml(outFile)}</code>.</p>
         <p>Next: copy them into <code>.env</code>, start ReviewBot, then
         <a href="${escapeHtml(app.html_url)}/installations/new">install the App</a> on your repositories.</p>`));
    } catch (error) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(String(error.message));
      process.exitCode = 1;
    }
    server.close();
    return;
  }
  res.writeHead(404).end();
});
server.listen(port, "127.0.0.1", () => {
  console.log(`Open http://localhost:${port}/ in your browser and click "Create GitHub App" on GitHub.`);
  console.log(`(The form posts the manifest to ${registerUrl.replace(/\?.*/, "")}.)`);
});

async function exchange(code) {
  if (!/^[A-Za-z0-9_-]+$/.test(code)) fail("the code looks wrong: copy the value of ?code= from the redirect");
  const response = await fetch(`${apiUrl}/app-manifests/${code}/conversions`, {
    method: "POST",
    headers: { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28", "user-agent": "ReviewBot-create-github-app" },
  });
  const body = await response.json().catch(() => ({}));
  if (response.status !== 201) {
    throw new Error(`GitHub answered ${response.status} to the code exchange (${body.message ?? "no message"}); codes expire after one hour and work once.`);
  }
  for (const field of ["id", "pem", "webhook_secret", "client_id", "client_secret"]) {
    if (!body[field]) throw new Error(`GitHub's answer has no ${field}`);
  }
  const lines = [
    `# GitHub App "${body.name ?? body.slug}" (${body.html_url}), created ${new Date().toISOString()}.`,
    "# Secrets: copy into .env, then delete this file.",
    `GITHUB_APP_ID=${body.id}`,
    `GITHUB_PRIVATE_KEY='${body.pem.trim().replaceAll("\r", "").replaceAll("\n", "\\n")}\\n'`,
    `GITHUB_WEBHOOK_SECRET=${body.webhook_secret}`,
    `GITHUB_CLIENT_ID=${body.client_id}`,
    `GITHUB_CLIENT_SECRET=${body.client_secret}`,
    `PUBLIC_URL=${publicUrl}`,
  ];
  if (apiUrl !== "https://api.github.com") lines.push(`GITHUB_API_URL=${apiUrl}`);
  if (webUrl !== "https://github.com") lines.push(`GITHUB_WEB_URL=${webUrl}`);
  writeFileSync(outFile, lines.join("\n") + "\n", { mode: 0o600, flag: "wx" });
  console.log(`Created the App ${body.html_url} (id ${body.id}); credentials written to ${outFile}.`);
  console.log(`Install it on your repositories: ${body.html_url}/installations/new`);
  return body;
}

function formPage() {
  return page("Create the ReviewBot GitHub App",
    `<p>This registers a GitHub App with ReviewBot's permissions and events on
     <b>${escapeHtml(args.org ? `the organization ${args.org}` : "your personal account")}</b> at ${escapeHtml(webUrl)}.
     Webhooks will go to <code>${escapeHtml(manifest.hook_attributes.url)}</code>.</p>
     <form action="${escapeHtml(registerUrl)}" method="post">
       <input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(manifest))}">
       <button type="submit">Create the GitHub App on GitHub</button>
     </form>
     <details><summary>Manifest</summary><pre>${escapeHtml(JSON.stringify(manifest, null, 2))}</pre></details>`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

// app.yml uses a small YAML subset: comments, nested mappings by indentation, lists of scalars,
// plain / double-quoted strings and booleans. That keeps this script free of dependencies.
function loadManifest(path, url) {
  const text = readFileSync(path, "utf8").replaceAll("{PUBLIC_URL}", url);
  const root = {};
  // Each entry holds a mapping or list and the indentation of the key that opened it; a line
  // indented no deeper than that key closes it.
  const stack = [{ indent: -1, node: root }];
  let pending = null;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = stripComment(raw);
    if (!line.trim()) continue;
    const indent = line.length - line.trimStart().length;
    const content = line.trim();
    if (pending && indent > pending.indent) {
      const child = content.startsWith("- ") ? [] : {};
      stack.at(-1).node[pending.key] = child;
      stack.push({ indent: pending.indent, node: child });
    } else if (pending) {
      throw new Error(`app.yml line ${index}: ${pending.key} has no value`);
    }
    pending = null;
    while (indent <= stack.at(-1).indent) stack.pop();
    const current = stack.at(-1).node;
    if (content.startsWith("- ")) {
      if (!Array.isArray(current)) throw new Error(`app.yml line ${index + 1}: list item outside a list`);
      current.push(scalar(content.slice(2).trim()));
      continue;
    }
    const match = /^([A-Za-z0-9_]+):(?:\s+(.*))?$/.exec(content);
    if (!match || Array.isArray(current)) throw new Error(`app.yml line ${index + 1}: not understood: ${content}`);
    if (match[2] === undefined || match[2] === "") pending = { key: match[1], indent };
    else current[match[1]] = scalar(match[2]);
  }
  return root;
}

function stripComment(line) {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"' && line[i - 1] !== "\\") quoted = !quoted;
    if (line[i] === "#" && !quoted && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function scalar(value) {
  if (value === "true") return true;
  if (value === "false") return false;
  if (value.startsWith('"')) return JSON.parse(value);
  return value;
}

function parseArgs(argv) {
  const result = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") result.help = true;
    else if (arg === "--print-manifest") result["print-manifest"] = true;
    else if (arg.startsWith("--") && i + 1 < argv.length) result[arg.slice(2)] = argv[++i];
    else fail(`unknown argument ${arg}\n\n${usage}`);
  }
  return result;
}

function trimSlash(value) {
  return value.replace(/\/+$/, "");
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function fail(message) {
  console.error(message);
  process.exit(2);
}
