// Rewind's cut: a live session back to n tokens (context, sampler window, what its stored pages still hold), or a 400 for a bad n.
import { invalidValue } from "../protocol/errors";
import { fail, ok, type Result } from "../protocol/result";
import type { Live } from "./live-state";
import { resumeSampler } from "./sampling";

export function truncateLive(live: Live, n: number): Result<Live> {
  if (!Number.isInteger(n) || n < 0 || n > live.llm.length) {
    return fail(invalidValue(`tokens must be an integer in [0, ${live.llm.length}] (the session holds ${live.llm.length} tokens), got ${n}`, "tokens"));
  }
  live.llm.truncate(n);
  live.sampler = resumeSampler(live.sampler.state(), live.llm.tokens);
  // Positions kept in a partly kept page must be rewritten: a page holds exactly its evaluated positions.
  live.persistedEvaluated = Math.floor(Math.min(live.persistedEvaluated, live.llm.nEvaluated) / live.state.perPage) * live.state.perPage;
  return ok(live);
}
