// A sharded model (its KV lives in the ModelShard objects) takes no part in the prompt cache: it neither restores nor publishes, and still answers.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { call, json, seedModel } from "./helpers";

beforeAll(seedModel);

describe("prompt cache on a sharded model", () => {
  it("a repeated prompt of several blocks reports cached_tokens 0 both times, answers alike, and stores no block", async () => {
    const prompt = "Once upon a time there was a little dog. He liked to play with a red ball in the park. ".repeat(3);
    const body = { prompt, max_tokens: 8, temperature: 0 };
    const first = await json(await call("POST", "/v1/completions", body));
    const second = await json(await call("POST", "/v1/completions", body));
    expect(first.usage.prompt_tokens).toBeGreaterThan(64);
    expect(first.usage.prompt_tokens_details).toEqual({ cached_tokens: 0 });
    expect(second.usage.prompt_tokens_details).toEqual({ cached_tokens: 0 });
    expect(second.choices[0].text).toBe(first.choices[0].text);
    const head = await env.MODELS.head(env.MODEL_NAME);
    const stats = await env.PROMPT_CACHE.getByName(`${env.MODEL_NAME}@${head!.etag}`).stats();
    expect(stats).toMatchObject({ blocks: 0, lookups: 0, publishedBlocks: 0 });
  });
});
