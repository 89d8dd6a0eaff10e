// Security: with API_KEY set EVERY registered route but /health and /openapi.json needs it; ids are 128 random bits; errors leak nothing.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { newSessionId } from "../../src/api/session-client";
import { errorBody } from "../../src/protocol/errors";
import { app } from "../../src/index";
import { BASE, json, seedModel } from "./helpers";

beforeAll(seedModel);

const KEY = "sk-security-test-6b1f0c8e";
// Public by design: liveness for load balancers, and the API description (it holds no data). The playground and
// /docs are static assets served before the Worker runs (test/e2e/security.test.ts checks them through wrangler dev).
const PUBLIC = new Set(["GET /health", "GET /openapi.json"]);

function withKey(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { "content-type": "application/json", ...headers } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  return Promise.resolve(app.request(BASE + path, init, { ...env, API_KEY: KEY }));
}
const bearer = { authorization: `Bearer ${KEY}` };

/** Every method + path the app registers (middleware excluded), with :id filled in. */
function registeredRoutes(id: string): [string, string][] {
  const seen = new Set<string>();
  for (const r of app.routes) if (r.method !== "ALL") seen.add(`${r.method} ${r.path}`);
  return [...seen].map((k) => {
    const [method, path] = k.split(" ") as [string, string];
    return [method, path.replace(":id", id)];
  });
}

describe("security", () => {
  it("every registered route except /health and /openapi.json answers 401 without the key, and works with it", async () => {
    const s = await json(await withKey("POST", "/v1/sessions", bearer, { temperature: 0 }), 201);
    const routes = registeredRoutes(s.id);
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const [method, path] of routes) {
      const open = PUBLIC.has(`${method} ${path}`);
      const res = await withKey(method, path, {}, method === "POST" ? {} : undefined);
      const text = await res.text();
      if (open) expect(res.status, `${method} ${path}`).toBe(200);
      else {
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(JSON.parse(text).error.code).toBe("invalid_api_key");
      }
      expect(text).not.toContain(KEY);
    }
    // With the key no route is refused for auth (each answers as it would without API_KEY).
    for (const [method, path] of routes.filter(([m, p]) => !(m === "DELETE" && p.includes(s.id)))) {
      const res = await withKey(method, path, bearer, method === "POST" ? {} : undefined);
      expect(res.status, `${method} ${path}`).not.toBe(401);
    }
  });

  it("a session id alone gives no access: in the path, the x-session-id header or session_id, without the key", async () => {
    const s = await json(await withKey("POST", "/v1/sessions", bearer, { temperature: 0 }), 201);
    const attempts: [string, string, Record<string, string>, unknown][] = [
      ["GET", `/v1/sessions/${s.id}`, {}, undefined],
      ["POST", `/v1/sessions/${s.id}/generate`, {}, { text: "Once", max_tokens: 2 }],
      ["POST", `/v1/sessions/${s.id}/rewind`, {}, { tokens: 0 }],
      ["POST", `/v1/sessions/${s.id}/fork`, {}, {}],
      ["DELETE", `/v1/sessions/${s.id}`, {}, undefined],
      ["POST", "/v1/completions", { "x-session-id": s.id }, { prompt: "Once", max_tokens: 2 }],
      ["POST", "/v1/completions", {}, { prompt: "Once", max_tokens: 2, session_id: s.id }],
      ["POST", "/v1/chat/completions", {}, { messages: [{ role: "user", content: "hi" }], session_id: s.id }],
      // The id offered as if it were a key.
      ["GET", `/v1/sessions/${s.id}`, { authorization: `Bearer ${s.id}` }, undefined],
    ];
    for (const [method, path, headers, body] of attempts) expect((await withKey(method, path, headers, body)).status, `${method} ${path}`).toBe(401);
    // Nothing happened to the session: it exists, unchanged.
    const after = await json(await withKey("GET", `/v1/sessions/${s.id}`, bearer));
    expect(after).toMatchObject({ id: s.id, token_count: 0, text: "" });
  });

  it("session ids are 128 random bits: 32 lowercase hex digits, no repeats, every bit varies, balanced", () => {
    const ids = Array.from({ length: 2000 }, newSessionId);
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const ones = new Array<number>(128).fill(0);
    for (const id of ids) for (let b = 0; b < 128; b++) ones[b]! += (parseInt(id[b >> 2]!, 16) >> (3 - (b & 3))) & 1;
    // Each bit position: 2000 fair coin flips (mean 1000, sd 22); ±200 is 9 sd, so this fails only for a biased source.
    for (const n of ones) expect(Math.abs(n - 1000)).toBeLessThan(200);
  });

  it("ids the API hands out (sessions, forks, completions) are of that form", async () => {
    const s = await createWithKey();
    const f = await json(await withKey("POST", `/v1/sessions/${s.id}/fork`, bearer), 201);
    const c = await json(await withKey("POST", "/v1/completions", bearer, { prompt: "Once", max_tokens: 1 }));
    expect([s.id, f.id]).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/), expect.stringMatching(/^[0-9a-f]{32}$/)]);
    expect(c.id).toMatch(/^cmpl-[0-9a-f]{32}$/);
  });

  it("error messages carry no secrets or internals (stack traces, file paths, SQL, the key)", async () => {
    const s = await createWithKey();
    const requests: [string, string, unknown][] = [
      ["POST", "/v1/completions", "{bad json"],
      ["POST", "/v1/completions", { prompt: 1 }],
      ["POST", "/v1/completions", { prompt: "x", temperature: KEY }],
      ["POST", `/v1/sessions/${s.id}/rewind`, { tokens: 10_000 }],
      ["POST", `/v1/sessions/${s.id}/generate`, { text: "dog ".repeat(2000) }],
      ["GET", "/v1/sessions/..%2F..%2Fetc%2Fpasswd", undefined],
      ["GET", "/v1/nothing-here", undefined],
    ];
    for (const [method, path, body] of requests) {
      const res = await withKey(method, path, bearer, body);
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectNoInternals(await res.text());
    }
    // Anything unexpected inside a session (a storage error, a bug) becomes a generic 500; details go to the log only.
    const internal = errorBody(new Error("SQLITE_CORRUPT: /var/lib/do/3f2a.sqlite\n    at SessionStore.save (src/session/store.ts:72:9)"));
    expect(internal).toEqual({ status: 500, type: "server_error", code: "internal_error", message: "internal error", param: null });
  });
});

async function createWithKey() {
  return json(await withKey("POST", "/v1/sessions", bearer, { temperature: 0 }), 201);
}

function expectNoInternals(text: string) {
  expect(text).not.toContain(KEY);
  expect(text).not.toMatch(/\n\s+at |\.ts:\d|\.js:\d|node_modules|\/work\/|file:\/\/|SQLITE|sqlite_|TypeError|RangeError/);
  const body = JSON.parse(text);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
}

