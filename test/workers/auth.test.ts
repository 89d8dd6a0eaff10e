// API-key auth: with API_KEY set, every /v1 route needs `Authorization: Bearer <key>`; /health stays public; 401s never echo the key.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { bearerToken, keysEqual } from "../../src/api/auth";
import { app } from "../../src/index";
import { BASE, call, json, seedModel } from "./helpers";

beforeAll(seedModel);

const KEY = "sk-edge-llama-test-0123456789";

/** The Worker's app with API_KEY configured (the test project's own env has none). */
function authed(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { "content-type": "application/json", ...headers } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return Promise.resolve(app.request(BASE + path, init, { ...env, API_KEY: KEY }));
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe("API key auth", () => {
  it("GET /health needs no key", async () => {
    expect((await json(await authed("GET", "/health"))).status).toBe("ok");
  });

  it.each([
    ["GET", "/v1/models", undefined],
    ["POST", "/v1/completions", { prompt: "x", max_tokens: 1 }],
    ["POST", "/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }],
    ["POST", "/v1/sessions", {}],
    ["GET", `/v1/sessions/${"0".repeat(32)}`, undefined],
    ["DELETE", `/v1/sessions/${"0".repeat(32)}`, undefined],
  ])("%s %s without a key is a 401 invalid_api_key", async (method, path, body) => {
    const res = await authed(method, path, {}, body);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const err = await json(res, 401);
    expect(err).toEqual({ error: { message: expect.stringContaining("Authorization: Bearer"), type: "invalid_request_error", code: "invalid_api_key", param: null } });
  });

  it("a wrong key (a prefix, a longer one, another scheme) is a 401 that never repeats what was sent", async () => {
    const wrong = ["sk-wrong-key", KEY.slice(0, -1), KEY + "0", ""];
    for (const key of wrong) {
      const res = await authed("GET", "/v1/models", bearer(key));
      const text = await res.text();
      expect(res.status).toBe(401);
      expect(JSON.parse(text).error.code).toBe("invalid_api_key");
      if (key) expect(text).not.toContain(key);
      expect(text).not.toContain(KEY);
    }
    const basic = await authed("GET", "/v1/models", { authorization: `Basic ${btoa(`user:${KEY}`)}` });
    expect(basic.status).toBe(401);
  });

  it("the right key opens every route (scheme case-insensitive), and a session works end to end", async () => {
    expect((await json(await authed("GET", "/v1/models", bearer(KEY)))).object).toBe("list");
    expect((await authed("GET", "/v1/models", { authorization: `bearer ${KEY}` })).status).toBe(200);
    const s = await json(await authed("POST", "/v1/sessions", bearer(KEY), { temperature: 0 }), 201);
    const g = await json(await authed("POST", `/v1/sessions/${s.id}/generate`, bearer(KEY), { text: "Once upon a time", max_tokens: 4 }));
    expect(g.tokens).toHaveLength(4);
    const c = await json(await authed("POST", "/v1/completions", bearer(KEY), { prompt: "Once upon a time", max_tokens: 3 }));
    expect(c.usage.completion_tokens).toBe(3);
  });

  it("without API_KEY configured (local development) no key is needed", async () => {
    expect(env.API_KEY).toBeUndefined();
    expect((await call("GET", "/v1/models")).status).toBe(200);
  });
});

describe("auth helpers", () => {
  it("keysEqual compares exactly, whatever the lengths", async () => {
    expect(await keysEqual(KEY, KEY)).toBe(true);
    expect(await keysEqual(KEY, KEY + "x")).toBe(false);
    expect(await keysEqual(KEY.slice(0, 5), KEY)).toBe(false);
    expect(await keysEqual("", KEY)).toBe(false);
    expect(await keysEqual("a", "b")).toBe(false);
  });

  it("bearerToken reads only the Bearer scheme", () => {
    expect(bearerToken(`Bearer ${KEY}`)).toBe(KEY);
    expect(bearerToken(`  BEARER   ${KEY} `)).toBe(KEY);
    expect(bearerToken(KEY)).toBeNull();
    expect(bearerToken("Bearer")).toBeNull();
    expect(bearerToken("Bearer a b")).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });
});
