// Load-test figures: throughput, time-to-first-token and inter-token percentiles, and outcomes by status.
import type { PhaseReport } from "./loadtest-run";

/** Nearest-rank percentile (p in [0, 100]) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface PhaseSummary {
  readonly name: string;
  readonly requests: number;
  readonly wallS: number;
  readonly tokens: number;
  readonly tokensPerS: number;
  readonly requestsPerS: number;
  readonly ttftMs: { readonly p50: number; readonly p99: number };
  readonly interTokenMs: { readonly p50: number; readonly p99: number };
  /** Final status of each request (after retries), and the intended refusals that were retried. */
  readonly statuses: Record<string, number>;
  readonly refusals: { readonly 409: number; readonly 429: number };
  /** Requests whose stream ended with a `done` event. */
  readonly endedProperly: number;
  /** Anything but a properly ended 200 stream: must be 0. */
  readonly unexpected: number;
  readonly unexpectedSamples: string[];
}

export function summarize(r: PhaseReport): PhaseSummary {
  const statuses: Record<string, number> = {};
  const refusals = { 409: 0, 429: 0 };
  const ttft: number[] = [];
  const gaps: number[] = [];
  const samples: string[] = [];
  let tokens = 0;
  let ended = 0;
  for (const { result, refusals: rf } of r.outcomes) {
    statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    refusals[409] += rf[409];
    refusals[429] += rf[429];
    tokens += result.tokens.length;
    if (result.arrivals.length > 0) ttft.push(result.arrivals[0]!);
    for (let i = 1; i < result.arrivals.length; i++) gaps.push(result.arrivals[i]! - result.arrivals[i - 1]!);
    if (result.status === 200 && result.done && !result.streamError) ended++;
    else if (samples.length < 5) samples.push(`${result.status}: ${result.streamError ?? JSON.stringify(result.errorBody)}`);
  }
  const wallS = r.wallMs / 1000;
  return {
    name: r.name,
    requests: r.requests,
    wallS,
    tokens,
    tokensPerS: tokens / wallS,
    requestsPerS: r.requests / wallS,
    ttftMs: { p50: percentile(ttft, 50), p99: percentile(ttft, 99) },
    interTokenMs: { p50: percentile(gaps, 50), p99: percentile(gaps, 99) },
    statuses,
    refusals,
    endedProperly: ended,
    unexpected: r.requests - ended,
    unexpectedSamples: samples,
  };
}

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");

/** A few readable lines per phase. */
export function formatSummary(s: PhaseSummary): string {
  return [
    `${s.name}: ${s.requests} requests in ${f(s.wallS, 2)} s`,
    `  throughput     ${f(s.tokensPerS)} tokens/s, ${f(s.requestsPerS, 2)} requests/s (${s.tokens} tokens)`,
    `  first token    p50 ${f(s.ttftMs.p50)} ms, p99 ${f(s.ttftMs.p99)} ms`,
    `  inter-token    p50 ${f(s.interTokenMs.p50, 2)} ms, p99 ${f(s.interTokenMs.p99, 2)} ms`,
    `  final status   ${Object.entries(s.statuses).map(([k, v]) => `${k}×${v}`).join(", ")}; retried refusals 409×${s.refusals[409]}, 429×${s.refusals[429]}`,
    `  streams ended  ${s.endedProperly}/${s.requests}; unexpected errors ${s.unexpected}${s.unexpectedSamples.length ? ` (${s.unexpectedSamples.join("; ")})` : ""}`,
  ].join("\n");
}
