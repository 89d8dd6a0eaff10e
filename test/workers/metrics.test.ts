// GET /metrics: Prometheus text exposition 0.0.4 after a few requests (route patterns, tokens, histograms), the registry's format rules, and the API key.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/index";
import { escapeLabel, Registry } from "../../src/api/metrics-registry";
import { BASE, call, createSession, json, seedModel } from "./helpers";

beforeAll(seedModel);

/** value of the sample `name{labels}` in an exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1).replace("+Inf", "Infinity"));
}

/** The buckets of a histogram without labels: [le, cumulative count]. */
function buckets(text: string, name: string): [string, number][] {
  return [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, "gm"))].map((m) => [m[1]!, Number(m[2])]);
}

describe("GET /metrics", () => {
  it("counts requests by route pattern and status, tokens in and out, and latency histograms, in the 0.0.4 text format", async () => {
    const before = await (await call("GET", "/metrics")).text();
    const s = await createSession({ temperature: 0 });
    await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: "Once upon a time", max_tokens: 5 }));
    await json(await call("GET", `/v1/sessions/${s.id}`));
    await json(await call("POST", "/v1/completions", { prompt: "Once upon a time", max_tokens: 4, temperature: 0, n: 2 }));
    await (await call("POST", "/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }], max_tokens: 3, stream: true })).text();
    await json(await call("POST", "/v1/completions", { prompt: "x", temperature: 9 }), 400);
    await json(await call("GET", "/nope"), 404);

    const res = await call("GET", "/metrics");
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text.endsWith("\n")).toBe(true);
    for (const [name, type] of [
      ["edge_llama_http_requests_total", "counter"],
      ["edge_llama_prompt_tokens_total", "counter"],
      ["edge_llama_completion_tokens_total", "counter"],
      ["edge_llama_time_to_first_token_seconds", "histogram"],
      ["edge_llama_time_per_output_token_seconds", "histogram"],
      ["edge_llama_admissions_refused_total", "counter"],
      ["edge_llama_prompt_cache_hits_total", "counter"],
    ]) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.*\\n# TYPE ${name} ${type}$`, "m"));
    }
    const delta = (series: string) => (sample(text, series) ?? 0) - (sample(before, series) ?? 0);
    // The route pattern, never the raw path: one series for every session.
    expect(delta('edge_llama_http_requests_total{route="/v1/sessions/:id",method="GET",status="200"}')).toBe(1);
    expect(delta('edge_llama_http_requests_total{route="/v1/sessions/:id/generate",method="POST",status="200"}')).toBe(1);
    expect(delta('edge_llama_http_requests_total{route="/v1/sessions",method="POST",status="201"}')).toBe(1);
    expect(delta('edge_llama_http_requests_total{route="/v1/completions",method="POST",status="400"}')).toBe(1);
    expect(delta('edge_llama_http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
    expect(text).not.toContain(s.id);
    // Tokens: 5 + 2 × 4 + 3 out; the prompts once each (n = 2 counts its prompt once).
    expect(delta("edge_llama_completion_tokens_total")).toBe(16);
    expect(delta("edge_llama_prompt_tokens_total")).toBeGreaterThanOrEqual(5 + 5 + 1);
    expect(sample(text, "edge_llama_prompt_cache_hits_total")).toBe(0);

    for (const h of ["edge_llama_time_to_first_token_seconds", "edge_llama_time_per_output_token_seconds"]) {
      const b = buckets(text, h);
      expect(b.at(-1)![0]).toBe("+Inf");
      for (let i = 1; i < b.length; i++) expect(b[i]![1]).toBeGreaterThanOrEqual(b[i - 1]![1]); // cumulative
      expect(b.at(-1)![1]).toBe(sample(text, `${h}_count`));
      expect(sample(text, `${h}_sum`)).toBeGreaterThanOrEqual(0);
    }
    // Four generations (one with two choices) each saw a first token; per-token gaps: 4 + 2 × 3 + 2 at least.
    expect(sample(text, "edge_llama_time_to_first_token_seconds_count")! - (sample(before, "edge_llama_time_to_first_token_seconds_count") ?? 0)).toBe(3);
    expect(sample(text, "edge_llama_time_per_output_token_seconds_count")! - (sample(before, "edge_llama_time_per_output_token_seconds_count") ?? 0)).toBe(12);
  });

  it("needs the API key when one is set", async () => {
    const withKey = { ...env, API_KEY: "sk-metrics" };
    expect((await app.request(`${BASE}/metrics`, {}, withKey)).status).toBe(401);
    const ok = await app.request(`${BASE}/metrics`, { headers: { authorization: "Bearer sk-metrics" } }, withKey);
    expect(ok.status).toBe(200);
  });
});

describe("metrics registry", () => {
  it("escapes label values and HELP text, renders counters at 0 before use, histograms cumulative with +Inf, _sum and _count", () => {
    const r = new Registry();
    const c = r.counter("t_total", "a help with \\ and\nnewline");
    r.counter("t_unused_total", "never incremented");
    const h = r.histogram("t_seconds", "latency", [0.1, 1]);
    c.inc({ path: 'a"b\\c\nd' }, 2);
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(r.render()).toBe(
      [
        "# HELP t_total a help with \\\\ and\\nnewline",
        "# TYPE t_total counter",
        't_total{path="a\\"b\\\\c\\nd"} 2',
        "# HELP t_unused_total never incremented",
        "# TYPE t_unused_total counter",
        "t_unused_total 0",
        "# HELP t_seconds latency",
        "# TYPE t_seconds histogram",
        't_seconds_bucket{le="0.1"} 2',
        't_seconds_bucket{le="1"} 3',
        't_seconds_bucket{le="+Inf"} 4',
        "t_seconds_sum 3.65",
        "t_seconds_count 4",
        "",
      ].join("\n"),
    );
    expect(() => r.counter("t_total", "again")).toThrow(/twice/);
    expect(() => c.inc({}, -1)).toThrow();
  });
});
