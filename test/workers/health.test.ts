// The Worker answers its health check inside workerd.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("worker", () => {
  it("GET /health reports ok and the configured model", async () => {
    const res = await SELF.fetch("https://edge-llama.test/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; model: string; backends: string[] };
    expect(body).toMatchObject({ status: "ok", model: "stories260K.gguf" });
    expect(body.backends).toContain("ref");
  });

  it("unknown routes get an OpenAI-shaped 404", async () => {
    const res = await SELF.fetch("https://edge-llama.test/nope");
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("not_found");
  });
});
