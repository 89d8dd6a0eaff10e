// Test helper: counts the positions the served model's forward pass computes (tokens embedded), to prove what is not recomputed.
import { env } from "cloudflare:test";
import { host } from "../../src/session/model-host";

/** Runs `fn` and returns how many tokens went through the isolate's model forward pass meanwhile. */
export async function countForwarded<T>(fn: () => Promise<T>): Promise<{ result: T; forwarded: number }> {
  const backend = (await host.model(env)).backend as { embed: (...args: any[]) => void };
  const original = backend.embed;
  let forwarded = 0;
  backend.embed = function (out: unknown, table: unknown, tokens: readonly number[]) {
    forwarded += tokens.length;
    return original.call(this, out, table, tokens);
  };
  try {
    return { result: await fn(), forwarded };
  } finally {
    delete (backend as Partial<typeof backend>).embed;
  }
}
