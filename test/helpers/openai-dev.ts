// E2e set-up for the openai client tests: `wrangler dev` with an API key, and the official client pointed at it.
import OpenAI from "openai";
import { startDevServer, type DevServer } from "../../scripts/lib/dev-server";

/** Starts `wrangler dev` with API_KEY=`key` and returns it with an openai client for its /v1 (no retries). */
export async function startOpenAiDev(key: string): Promise<{ dev: DevServer; client: OpenAI }> {
  const dev = await startDevServer({ vars: { API_KEY: key } });
  const client = new OpenAI({ apiKey: key, baseURL: `${dev.url}/v1`, maxRetries: 0 });
  return { dev, client };
}
