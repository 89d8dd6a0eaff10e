// Fuzzing every route the app registers inside workerd (fast-check, seeded): hostile requests get a well-formed 4xx or a valid result, never a 5xx or a hang.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/index";
import type { LlamaSession } from "../../src/session/llama-session";
import { BASE, createSession, seedModel } from "./helpers";

beforeAll(seedModel);

const FIELDS = ["prompt", "messages", "text", "max_tokens", "max_completion_tokens", "stop", "stream", "temperature", "top_p", "top_k", "min_p", "seed",
  "presence_penalty", "frequency_penalty", "repetition_penalty", "penalty_last_n", "n_ctx", "tokens", "session_id", "logprobs", "top_logprobs", "n", "model", "role", "content"];

/** Values that break naive handlers: extreme numbers, huge and odd strings, nesting, wrong types. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(-1, 0, 1, 0.5, -0.0, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 31), 2 ** 32, 1e-320, 64, 512, 513, 100000),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom("", "\u0000", "\ud800", "Once upon a time", "\nUser:", "<s>", "</s>", "x".repeat(70_000)),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 20 }),
  fc.array(fc.record({ role: fc.constantFrom("user", "system", "assistant", "tool", ""), content: fc.oneof(fc.string({ maxLength: 30 }), fc.integer()) }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

/** An object of known and unknown fields with hostile values. */
const hostileObject = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), hostileValue, { maxKeys: 6 });

const deepNesting = fc.integer({ min: 1, max: 200_000 }).chain((depth) => fc.constantFrom(`${"[".repeat(depth)}${"]".repeat(depth)}`, `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`, "[".repeat(depth)));

/** A body: valid-ish JSON objects, any JSON, text, deep nesting, raw (often invalid UTF-8) bytes, or nothing. */
const body: fc.Arbitrary<string | Uint8Array | undefined> = fc.oneof(
  { weight: 4, arbitrary: hostileObject.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array([0x7b, 0x22, 0x70, 0x72, 0x6f, 0x6d, 0x70, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d])) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const contentType = fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "");

type IdKind = "live" | "nobody" | "malformed";

/** Every method + path the Hono app registers (middleware, method "ALL", excluded): a new route is fuzzed without listing it here. */
function registeredRoutes(): [string, string][] {
  const seen = new Set<string>();
  for (const r of app.routes) if (r.method !== "ALL") seen.add(`${r.method} ${r.path.length > 1 ? r.path.replace(/\/$/, "") : r.path}`);
  return [...seen].sort().map((k) => k.split(" ") as [string, string]);
}
const REGISTERED = registeredRoutes();
/** Plus requests no route takes: each registered path with a method it does not register, and unknown paths. */
const UNREGISTERED: [string, string][] = [
  ...[...new Set(REGISTERED.map(([, p]) => p))].flatMap((p): [string, string][] => {
    const method = ["PUT", "PATCH", "DELETE", "POST", "GET"].find((m) => !REGISTERED.some(([rm, rp]) => rm === m && rp === p));
    return method ? [[method, p]] : [];
  }),
  ["POST", "/v2/x"],
  ["GET", "/v1/sessions/:id/unknown"],
];
/** Registered routes are drawn three times as often as the requests no route takes. */
const route = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...REGISTERED) }, { weight: 1, arbitrary: fc.constantFrom(...UNREGISTERED) });
const malformedId = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("0".repeat(31), "A".repeat(32), "g".repeat(32), "%2e%2e", "..", "0".repeat(33), "%00", "%F0%9F%92%A9"));

const request = fc.record({ route, idKind: fc.constantFrom<IdKind>("live", "nobody", "malformed"), malformed: malformedId, body, contentType });

/** Asserts the OpenAI error shape, or a JSON / SSE result that ended properly. */
async function expectWellFormed(res: Response, label: string): Promise<void> {
  const text = await res.text();
  expect(res.status, `${label} → ${res.status}: ${text.slice(0, 300)}`).toBeLessThan(500);
  const type = res.headers.get("content-type") ?? "";
  if (res.status >= 400) {
    const err = JSON.parse(text);
    // POST /v1/ai/run/{model} answers Workers AI's REST envelope: the same error fields inside errors[0].
    if (/^POST \S+\/v1\/ai\/run\//.test(label) && res.status !== 401) {
      expect(Object.keys(err).sort(), label).toEqual(["errors", "messages", "result", "success"]);
      expect(err).toMatchObject({ result: null, success: false, messages: [] });
      expect(err.errors, label).toHaveLength(1);
      expect(Object.keys(err.errors[0]).sort(), label).toEqual(["code", "message", "param"]);
      expect(typeof err.errors[0].message).toBe("string");
      expect(err.errors[0].message).not.toMatch(/\n\s+at /);
      return;
    }
    expect(Object.keys(err), label).toEqual(["error"]);
    expect(Object.keys(err.error).sort(), label).toEqual(["code", "message", "param", "type"]);
    expect(typeof err.error.message).toBe("string");
    expect(err.error.message).not.toMatch(/\n\s+at /);
  } else if (type.startsWith("text/event-stream")) {
    // A stream ends with its last frame: [DONE] (OpenAI routes) or a done event (session route), never an error.
    const frames = text.trim().split("\n\n");
    expect(frames.at(-1), label).toMatch(/^data: \[DONE\]$|^event: done\n/);
    expect(text, label).not.toMatch(/^event: error$/m);
  } else if (type.startsWith("application/json")) JSON.parse(text);
}

const NOBODY = "0123456789abcdef0123456789abcdef";

describe("HTTP API fuzz", () => {
  it("500 seeded random requests over every registered route, wrong methods and unknown paths: never a 5xx, never a hang, always well-formed", async () => {
    let live = (await createSession({ temperature: 0 })).id as string;
    expect(REGISTERED.length).toBeGreaterThanOrEqual(12);
    const statuses = new Map<number, number>();
    const drawn = new Set<string>();
    await fc.assert(
      fc.asyncProperty(request, async ({ route: [method, path], idKind, malformed, body: b, contentType: ct }) => {
        const id = idKind === "live" ? live : idKind === "nobody" ? NOBODY : encodeURIComponent(malformed) || "x";
        // Every path parameter (:id today) gets the live session's id, a valid-looking unknown one, or a malformed one.
        const url = BASE + path.replace(/:\w+(?:\{[^}]*\})?/g, id); // a regex param's {pattern} is not part of the URL
        const init: RequestInit = { method, headers: ct ? { "content-type": ct } : {} };
        if (b !== undefined && method !== "GET") init.body = b;
        const label = `${method} ${url} ${typeof b === "string" ? b.slice(0, 120) : String(b?.length)}`;
        // A hang fails the case: every request must answer well within 30 s (the model generates ≤ 512 tokens).
        const res = await Promise.race([SELF.fetch(url, init), new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer in 30 s: ${label}`)), 30_000))]);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        drawn.add(`${method} ${path}`);
        await expectWellFormed(res, label);
        // A deleted live session is recreated for the next cases (DELETE is one of the routes).
        if (idKind === "live" && method === "DELETE" && res.status === 200) live = (await createSession({ temperature: 0 })).id;
      }),
      { seed: 20261129, numRuns: 500 },
    );
    console.log("api fuzz statuses:", JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0]))));
    // Every registered route was exercised.
    expect(REGISTERED.filter(([m, p]) => !drawn.has(`${m} ${p}`))).toEqual([]);
    // The cases reached past validation too, not only the 400s.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(10);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(10);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(10);
    // The session that took nobody's id was never created as a side effect.
    const tables = await runInDurableObject(env.SESSIONS.getByName(NOBODY), (_i: LlamaSession, state) => state.storage.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('state', 'kv_pages')").one().n);
    expect(tables).toBe(0);
  });
});
