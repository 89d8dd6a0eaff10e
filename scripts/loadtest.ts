// `npm run loadtest [-- flags]`: a bounded load test against its own `wrangler dev` on loopback; prints throughput, latency, errors, memory.
import { parseFlags, UsageError } from "./lib/args";
import { runLoadTest, type LoadTestReport } from "./lib/loadtest-harness";
import { formatSummary } from "./lib/loadtest-stats";

const USAGE = `usage: npm run loadtest -- [--sessions N] [--tokens M] [--concurrency C] [--one-session R]
                        [--max-concurrent K] [--backend B] [--model FILE] [--seed S] [--timeout-s T] [--json]
Phase 1: N new sessions (default 16) each stream M tokens (default 64), C requests in flight (default 4).
Phase 2: R requests (default 8, 0 skips) sent C at a time to ONE session (it runs them one by one: 409s, retried).
The server runs with MAX_CONCURRENT_GENERATIONS=K (default 4): past it requests get 429 + Retry-After and are retried.
Errors other than these intended 409/429 refusals are counted as unexpected (exit status 1 when any).
Everything stops after T seconds (default 300).`;

function positive(name: string, v: number | undefined, fallback: number, min = 1): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${n}`);
  return n;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function print(report: LoadTestReport): void {
  const c = report.config;
  console.log(`load test: ${c.vars.MODEL_NAME ?? "stories260K.gguf"}, backend ${c.vars.BACKEND ?? "wasm"}, concurrency ${c.concurrency}, MAX_CONCURRENT_GENERATIONS ${c.vars.MAX_CONCURRENT_GENERATIONS}`);
  for (const p of report.phases) console.log(formatSummary(p));
  const m = report.memory;
  console.log(m ? `workerd RSS: ${mib(m.idleRssBytes)} idle, ${mib(m.maxSampledRssBytes)} max sampled (every 100 ms), ${mib(m.peakRssBytes)} peak (VmHWM)` : "workerd RSS: not found");
}

async function main(): Promise<number> {
  const { flags, positional } = parseFlags(process.argv.slice(2), {
    sessions: "number", tokens: "number", concurrency: "number", "one-session": "number", "max-concurrent": "number",
    backend: "string", model: "string", seed: "number", "timeout-s": "number", json: "boolean", help: "boolean",
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  const vars: Record<string, string> = { MAX_CONCURRENT_GENERATIONS: String(positive("max-concurrent", flags["max-concurrent"], 4)) };
  if (flags.backend) vars.BACKEND = flags.backend;
  if (flags.model) vars.MODEL_NAME = flags.model;
  const report = await runLoadTest({
    vars,
    sessions: positive("sessions", flags.sessions, 16),
    tokens: positive("tokens", flags.tokens, 64),
    concurrency: positive("concurrency", flags.concurrency, 4),
    oneSessionRequests: positive("one-session", flags["one-session"], 8, 0),
    prompt: "Once upon a time",
    seed: positive("seed", flags.seed, 1, 0),
    deadlineMs: positive("timeout-s", flags["timeout-s"], 300) * 1000,
  });
  if (flags.json) console.log(JSON.stringify(report, null, 2));
  else print(report);
  return report.phases.some((p) => p.unexpected > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof UsageError ? `${e.message}\n${USAGE}` : `loadtest: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
