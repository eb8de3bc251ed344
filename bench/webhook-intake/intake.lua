-- wrk script for the webhook intake benchmark (bench/webhook-intake/run.sh).
--
-- Every request is the real pull_request.synchronize payload (octokit/webhooks fixture) made unique:
-- its own pull request number, head SHA and X-GitHub-Delivery, signed with HMAC-SHA256 over the
-- exact body like GitHub does, so each one stores one new review job. The HMAC comes from the
-- libcrypto wrk itself links (LuaJIT FFI), so the client stays a C client, as pgbench is.
--
--   INTAKE_FIXTURE=... INTAKE_SECRET=... wrk -t2 -c32 -d15s -s intake.lua http://127.0.0.1:3100/api/github/webhooks
local ffi = require("ffi")
ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);
]]
local crypto = ffi.load("crypto")

local sha_placeholder = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local segments, holes -- the payload split around each number and SHA it carries
local secret, path, run, counter
local digest = ffi.new("unsigned char[32]")
local digest_len = ffi.new("unsigned int[1]")
local hex = {}
for i = 0, 255 do hex[i] = string.format("%02x", i) end

function init(args)
  local file = assert(io.open(os.getenv("INTAKE_FIXTURE"), "rb"))
  local text = file:read("*a")
  file:close()
  secret = os.getenv("INTAKE_SECRET") or "bench-webhook-secret"
  path = wrk.path
  -- A number per wrk invocation (run.sh passes one), so no two runs share a delivery id or SHA.
  run = tonumber(os.getenv("INTAKE_RUN") or os.time())
  counter = 0
  -- Split at every `"number": 2,` and every occurrence of the head SHA.
  segments, holes = {}, {}
  local position = 1
  while true do
    local n_start, n_end = text:find('"number": 2,', position, true)
    local s_start, s_end = text:find(sha_placeholder, position, true)
    local start, finish, kind
    if n_start and (not s_start or n_start < s_start) then
      start, finish, kind = n_start + 10, n_end - 1, "number"
    elseif s_start then
      start, finish, kind = s_start, s_end, "sha"
    else
      break
    end
    table.insert(segments, text:sub(position, start - 1))
    table.insert(holes, kind)
    position = finish + 1
  end
  table.insert(segments, text:sub(position))
end

function request()
  counter = counter + 1
  local number = tostring(1000000000 + thread_id * 100000000 + counter)
  local sha = string.format("%08x%08x%024x", run, thread_id, counter)
  local parts = {}
  for i = 1, #holes do
    parts[#parts + 1] = segments[i]
    parts[#parts + 1] = holes[i] == "number" and number or sha
  end
  parts[#parts + 1] = segments[#segments]
  local body = table.concat(parts)
  crypto.HMAC(crypto.EVP_sha256(), secret, #secret, body, #body, digest, digest_len)
  local signature = {}
  for i = 0, 31 do signature[i + 1] = hex[digest[i]] end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = "pull_request",
    ["X-GitHub-Delivery"] = run .. "-" .. thread_id .. "-" .. counter,
    ["X-Hub-Signature-256"] = "sha256=" .. table.concat(signature),
  }, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "   intake: %d requests in %.1fs = %.0f /s; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; not 2xx or failed: %d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad))
end
