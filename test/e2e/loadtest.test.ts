// CI-sized load test (npm run loadtest's code path): more requests than admission slots, then one busy session; no unexpected errors.
import { describe, expect, it } from "vitest";
import { runLoadTest } from "../../scripts/lib/loadtest-harness";

describe("load test (CI size)", () => {
  it("6 sessions × 24 tokens at concurrency 6 over 4 slots, then 5 requests on one session: every stream ends with done", async () => {
    const report = await runLoadTest({
      vars: { MAX_CONCURRENT_GENERATIONS: "4" },
      sessions: 6,
      tokens: 24,
      concurrency: 6,
      oneSessionRequests: 5,
      prompt: "Once upon a time",
      seed: 7,
      deadlineMs: 90_000,
    });
    expect(report.phases).toHaveLength(2);
    for (const p of report.phases) {
      // Only the intended refusals (429 past the slots, 409 on the busy session) happen, and they are retried to success.
      expect(p.unexpectedSamples).toEqual([]);
      expect(p.unexpected).toBe(0);
      expect(p.statuses).toEqual({ 200: p.requests });
      expect(p.endedProperly).toBe(p.requests);
      expect(p.tokens).toBeGreaterThan(0);
    }
    expect(report.phases[0]!.requests).toBe(6);
    expect(report.memory).not.toBeNull();
    expect(report.memory!.peakRssBytes).toBeGreaterThanOrEqual(report.memory!.idleRssBytes);
  });
});
