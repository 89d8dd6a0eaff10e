// One load-test run end to end: its own `wrangler dev` (the e2e harness), both phases, workerd memory sampled throughout.
import { startDevServer } from "./dev-server";
import { workerdMemory, type Memory } from "./loadtest-proc";
import { oneSessionPhase, sessionsPhase, type LoadOptions } from "./loadtest-run";
import { summarize, type PhaseSummary } from "./loadtest-stats";

export interface LoadTestConfig extends Omit<LoadOptions, "url"> {
  /** Server vars (MAX_CONCURRENT_GENERATIONS, BACKEND, MODEL_NAME, ...). */
  readonly vars: Record<string, string>;
}

export interface LoadTestReport {
  readonly config: Omit<LoadTestConfig, "headers">;
  readonly phases: PhaseSummary[];
  /** workerd memory: after start-up (model not loaded yet), the largest RSS sampled during the run, and VmHWM at the end. */
  readonly memory: { readonly idleRssBytes: number; readonly maxSampledRssBytes: number; readonly peakRssBytes: number } | null;
}

export async function runLoadTest(config: LoadTestConfig): Promise<LoadTestReport> {
  const dev = await startDevServer({ vars: config.vars });
  const deadline = Date.now() + config.deadlineMs;
  const pgid = dev.pid;
  const sample = (): Memory | null => (pgid === undefined ? null : workerdMemory(pgid));
  const idle = sample();
  let maxRss = idle?.rssBytes ?? 0;
  const timer = setInterval(() => (maxRss = Math.max(maxRss, sample()?.rssBytes ?? 0)), 100);
  try {
    const opts: LoadOptions = { ...config, url: dev.url };
    const phases = [summarize(await sessionsPhase(opts, deadline))];
    if (config.oneSessionRequests > 0) phases.push(summarize(await oneSessionPhase(opts, deadline)));
    const end = sample();
    const memory = idle && end ? { idleRssBytes: idle.rssBytes, maxSampledRssBytes: Math.max(maxRss, end.rssBytes), peakRssBytes: end.peakRssBytes } : null;
    const { headers: _headers, ...shown } = config;
    return { config: shown, phases, memory };
  } catch (e) {
    throw new Error(`load test failed: ${e instanceof Error ? e.message : String(e)}\n--- wrangler output ---\n${dev.logs().slice(-4000)}`);
  } finally {
    clearInterval(timer);
    await dev.dispose();
  }
}
