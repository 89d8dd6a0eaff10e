// The end-to-end harness itself: wrangler dev starts offline with a seeded R2 bucket, serves a session, and keeps it across a restart.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/lib/dev-server";

describe("wrangler dev harness", () => {
  let dev: DevServer;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(async () => {
    await dev?.dispose();
  });

  it("serves the seeded model and keeps a session's tokens across a restart", async () => {
    const health = (await (await fetch(`${dev.url}/health`)).json()) as { model: string };
    expect(health.model).toBe("stories260K.gguf");

    const created = (await (await fetch(`${dev.url}/v1/sessions`, { method: "POST" })).json()) as { id: string };
    const gen = await fetch(`${dev.url}/v1/sessions/${created.id}/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "Once upon a time", max_tokens: 6 }),
    });
    expect(gen.status).toBe(200);
    const before = (await (await fetch(`${dev.url}/v1/sessions/${created.id}`)).json()) as { token_count: number; text: string };
    expect(before.token_count).toBeGreaterThan(6);

    await dev.restart();
    const after = (await (await fetch(`${dev.url}/v1/sessions/${created.id}`)).json()) as { token_count: number; text: string };
    expect({ token_count: after.token_count, text: after.text }).toEqual({ token_count: before.token_count, text: before.text });
  });
});
