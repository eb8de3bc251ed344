// `node --test tools/create-github-app/create-github-app.test.mjs`: runs create-github-app.mjs through the whole manifest flow
// against a stand-in for GitHub on 127.0.0.1 (web form endpoint + the code conversion API), with a
// scripted "browser" in between. Run by scripts/check-deploy.sh in CI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const script = join(dirname(fileURLToPath(import.meta.url)), "create-github-app.mjs");

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function fakeGitHub() {
  const seen = { manifests: [], conversions: 0 };
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url, "http://127.0.0.1");
    if (req.method === "POST" && url.pathname === "/organizations/acme/settings/apps/new") {
      const manifest = JSON.parse(new URLSearchParams(body).get("manifest"));
      seen.manifests.push(manifest);
      res.writeHead(302, { location: `${manifest.redirect_url}?code=temp-code-1&state=${url.searchParams.get("state")}` }).end();
    } else if (req.method === "POST" && url.pathname === "/api/v3/app-manifests/temp-code-1/conversions") {
      seen.conversions++;
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({
        id: 4242, slug: "reviewbot-acme", name: "ReviewBot acme", html_url: `http://127.0.0.1:${server.address().port}/apps/reviewbot-acme`,
        pem: "-----BEGIN RSA PRIVATE KEY-----\nAAAA\nBBBB\n-----END RSA PRIVATE KEY-----\n",
        webhook_secret: "hook-secret", client_id: "Iv1.abc", client_secret: "client-secret",
      }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, seen, url: `http://127.0.0.1:${server.address().port}` };
}

async function waitForPage(url, deadline = Date.now() + 10_000) {
  while (true) {
    try {
      return await (await fetch(url)).text();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const unescapeHtml = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

test("creates the App through the manifest flow and writes the credentials ReviewBot reads", async () => {
  const github = await fakeGitHub();
  const port = await freePort();
  const out = join(mkdtempSync(join(tmpdir(), "create-app-")), "github-app.env");
  const child = spawn(process.execPath, [script, "--public-url", "https://rb.example.com/", "--org", "acme",
    "--github-url", github.url, "--port", String(port), "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  try {
    const page = await waitForPage(`http://localhost:${port}/`);
    const action = unescapeHtml(/action="([^"]+)"/.exec(page)[1]);
    const manifest = unescapeHtml(/name="manifest" value="([^"]+)"/.exec(page)[1]);

    // A callback whose state is not this run's is refused and exchanges nothing.
    const forged = await fetch(`http://localhost:${port}/callback?code=temp-code-1&state=forged`);
    assert.equal(forged.status, 400);

    const landed = await fetch(action, { method: "POST", body: new URLSearchParams({ manifest }) });
    assert.equal(landed.status, 200);
    assert.equal(await exited, 0);
  } finally {
    child.kill();
    github.server.close();
  }

  assert.equal(github.seen.conversions, 1);
  const sent = github.seen.manifests[0];
  assert.deepEqual(sent.hook_attributes, { url: "https://rb.example.com/api/github/webhooks", active: true });
  assert.equal(sent.url, "https://rb.example.com");
  assert.equal(sent.setup_url, "https://rb.example.com/setup");
  assert.deepEqual(sent.callback_urls, ["https://rb.example.com/auth/github/callback"]);
  assert.equal(sent.redirect_url, `http://localhost:${port}/callback`);
  assert.deepEqual(sent.default_permissions, { pull_requests: "write", checks: "write", contents: "read", metadata: "read", issues: "read" });
  assert.deepEqual(sent.default_events, ["pull_request", "check_run", "issue_comment"]);

  const env = readFileSync(out, "utf8");
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.match(env, /^GITHUB_APP_ID=4242$/m);
  assert.match(env, /^GITHUB_PRIVATE_KEY='-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\nBBBB\\n-----END RSA PRIVATE KEY-----\\n'$/m);
  assert.match(env, /^GITHUB_WEBHOOK_SECRET=hook-secret$/m);
  assert.match(env, /^GITHUB_CLIENT_ID=Iv1\.abc$/m);
  assert.match(env, /^GITHUB_CLIENT_SECRET=client-secret$/m);
  assert.match(env, /^PUBLIC_URL=https:\/\/rb\.example\.com$/m);
  assert.match(env, new RegExp(`^GITHUB_API_URL=${github.url.replaceAll(".", "\\.")}/api/v3$`, "m"));
});

test("--print-manifest turns app.yml into GitHub's manifest JSON", async () => {
  const child = spawn(process.execPath, [script, "--public-url", "https://rb.example.com", "--print-manifest"], { stdio: ["ignore", "pipe", "inherit"] });
  let text = "";
  for await (const chunk of child.stdout) text += chunk;
  const manifest = JSON.parse(text);
  assert.equal(manifest.name, "ReviewBot");
  assert.equal(manifest.public, false);
  assert.equal(manifest.request_oauth_on_install, false);
  assert.equal(manifest.hook_attributes.url, "https://rb.example.com/api/github/webhooks");
});
