// Through wrangler dev's real routing with API_KEY set: the static playground, docs and /health are public, the API is not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/lib/dev-server";

const KEY = "sk-e2e-security-5d1c";

describe("API key through wrangler dev", () => {
  let dev: DevServer;
  beforeAll(async () => {
    dev = await startDevServer({ vars: { API_KEY: KEY } });
  });
  afterAll(async () => {
    await dev?.dispose();
  });

  it("/, /docs and /health answer without the key; /v1 answers 401 without it and 200 with it", async () => {
    for (const path of ["/", "/docs", "/health", "/openapi.json"]) {
      const res = await fetch(dev.url + path);
      expect(res.status, path).toBe(200);
      await res.body?.cancel();
    }
    const denied = await fetch(`${dev.url}/v1/models`);
    expect(denied.status).toBe(401);
    expect(await denied.text()).not.toContain(KEY);
    expect((await fetch(`${dev.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    const created = await fetch(`${dev.url}/v1/sessions`, { method: "POST", headers: { authorization: `Bearer ${KEY}` } });
    const { id } = (await created.json()) as { id: string };
    expect((await fetch(`${dev.url}/v1/sessions/${id}`)).status).toBe(401);
  });
});
