// E2e set-up for the openai client tests: `wrangler dev` with an API key, and the official client pointed at it.
import OpenAI from "openai";
import { afterAll, beforeAll } from "vitest";
import { startDevServer, type DevServer } from "../../scripts/lib/dev-server";

/** A started server and its client: filled in by the suite's beforeAll. */
export interface OpenAiDev {
  dev: DevServer;
  client: OpenAI;
}

/**
 * Registers the suite's hooks: beforeAll starts `wrangler dev` with API_KEY=`key` and an openai client for its /v1
 * (no retries), afterAll disposes of the server. Read `dev` and `client` off the returned object inside the tests.
 */
export function openAiDevSuite(key: string): OpenAiDev {
  const server: Partial<OpenAiDev> = {};
  beforeAll(async () => {
    server.dev = await startDevServer({ vars: { API_KEY: key } });
    server.client = new OpenAI({ apiKey: key, baseURL: `${server.dev.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await server.dev?.dispose();
  });
  return server as OpenAiDev;
}
