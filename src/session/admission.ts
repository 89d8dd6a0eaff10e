// Admission control: a per-isolate cap on concurrent generations, so a burst is answered with 429s instead of exhausting memory.
import { numberVar, type Env } from "../env";
import { rateLimited, RETRY_AFTER_S } from "../protocol/errors";
import { fail, type Result } from "../protocol/result";

/** Default cap when MAX_CONCURRENT_GENERATIONS is not set: a few decodes share the isolate's CPU and memory well. */
export const DEFAULT_MAX_GENERATIONS = 4;

/**
 * One slot per generation in progress. Module state, so every session object of the isolate shares the one count
 * (each object only knows its own generation; the memory they compete for is the isolate's).
 */
class Admission {
  private active = 0;

  /** Generations holding a slot now. */
  get inUse(): number {
    return this.active;
  }

  limit(env: Env): number {
    return Math.floor(numberVar(env, "MAX_CONCURRENT_GENERATIONS", DEFAULT_MAX_GENERATIONS));
  }

  /** Takes a slot, or answers 429 rate_limit_exceeded when all are taken. Give it back with `release` exactly once. */
  acquire(env: Env): Result<true> {
    const limit = this.limit(env);
    if (this.active >= limit) {
      return fail(rateLimited(`too many generations in progress (limit ${limit} per instance); retry after ${RETRY_AFTER_S} s`));
    }
    this.active++;
    return { ok: true, value: true };
  }

  release(): void {
    if (this.active > 0) this.active--;
  }
}

export const admission = new Admission();
