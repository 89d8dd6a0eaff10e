// Sampled CPU profiles of the engine's prefill and decode, in Node and in workerd, alternated: self time per function.
// usage: npx tsx kernels/bench/profile-engine.ts [model=stories15M-Q4_0] [backend=wasm-relaxed]
//   env: TARGETS="node;workerd" (';'-separated; each a runtime and options: `fused=0|1` sets the kernels'
//        dot_add_fused answer, `v8=--a+--b` V8 flags: Node's command line, workerd's MINIFLARE_WORKERD_V8_FLAGS)
//        PREFILL=128 DECODE=128 WARM=4 (unprofiled runs per phase first) ROUNDS=6 (one profiled run per target
//        and phase each) INTERVAL_US=200 TOP=20 OUT=dir (also write each target's last profiles as .cpuprofile files)
// Every target loads the same synthetic model and runs bench-core's BenchSession: a Node target in a child process
// of its own (its flags stay its own) driven over IPC and profiled through node:inspector, a workerd target as the
// bench Worker (scripts/lib/bench-worker.ts) in its own workerd, profiled over miniflare's inspector port with the
// Chrome DevTools Protocol around each phase request. The profiler samples on a thread of its own with real time
// (workerd's stopped clock does not matter). Rounds alternate the targets, so the machine's load hits all alike;
// figures are medians over rounds of µs per token. Kinds: wasm, JS, GC, program (VM and runtime), idle (a workerd
// phase's request round trip).
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { selfTimes, watFunctionNames, type Profile } from "./profile-self-times";
type Phase = "prefill" | "decode";
const PHASES: readonly Phase[] = ["prefill", "decode"];

const env = process.env;
const modelId = process.argv[2] ?? "stories15M-Q4_0", backend = process.argv[3] ?? "wasm-relaxed";
const prefill = Number(env.PREFILL ?? 128), decode = Number(env.DECODE ?? 128), warm = Number(env.WARM ?? 4);
const interval = Number(env.INTERVAL_US ?? 200);

const names = watFunctionNames(join(dirname(fileURLToPath(import.meta.url)), `../../build/kernels/${backend === "wasm-simd128" ? "simd128" : "relaxed"}.wat`));

// ---- Agent: a Node child process that loads the model and answers {phase} with that phase's profile. ----
if (process.argv.includes("--agent")) {
  const { Session } = await import("node:inspector");
  const { BenchSession, benchPrompt, findModel, modelBytes } = await import("../../scripts/lib/bench-core");
  const { LlamaModel } = await import("../../src/engine/model");
  const { createBackend } = await import("../../src/backends/select");
  const model = LlamaModel.load(modelBytes(findModel(modelId), () => new Uint8Array()), createBackend(backend));
  if (env.FUSED) (model.backend as unknown as { k: { set_dot_add_fused(v: number): void } }).k.set_dot_add_fused(Number(env.FUSED));
  const session = new Session();
  session.connect();
  // The callback API answers in-process synchronously: no promise machinery inside the profiled span.
  const post = (method: string, params?: object) =>
    new Promise<{ profile?: Profile }>((ok, fail) => session.post(method, params, (e, r) => (e ? fail(e) : ok(r as { profile?: Profile }))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval });
  const prompt = benchPrompt(model.config.vocabSize, prefill);
  const ready = (phase: Phase) => {
    const s = new BenchSession(model, prompt, decode);
    if (phase === "decode") s.prefill();
    return s;
  };
  const run = (s: InstanceType<typeof BenchSession>, phase: Phase) => (phase === "prefill" ? s.prefill() : s.decodeAll());
  process.on("message", async (m: { phase: Phase; warm: number }) => {
    for (let i = 0; i < m.warm; i++) {
      const s = ready(m.phase);
      run(s, m.phase);
      s.dispose();
    }
    const s = ready(m.phase);
    const started = post("Profiler.start");
    const t0 = performance.now();
    run(s, m.phase);
    const wallMs = performance.now() - t0;
    const stopped = post("Profiler.stop");
    await started;
    const { profile } = await stopped;
    s.dispose();
    process.send!({ ...profile, wallMs });
  });
  process.send!("ready");
} else {
  await main();
}

/** A profiled runtime: one phase run (after `warm` unprofiled ones) per call. */
interface Target {
  readonly label: string;
  profile(phase: Phase, warm: number): Promise<Profile>;
  close(): Promise<void>;
}

function options(spec: string) {
  const [runtime, ...opts] = spec.trim().split(/\s+/);
  const o = Object.fromEntries(opts.map((s) => s.split("=", 2) as [string, string]));
  return { runtime: runtime!, fused: o.fused, v8: o.v8 ? o.v8.split("+") : [] };
}

async function nodeTarget(spec: string): Promise<Target> {
  const o = options(spec);
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [modelId, backend, "--agent"], {
    execArgv: [...o.v8, "--import", "tsx"],
    env: { ...env, ...(o.fused !== undefined && { FUSED: o.fused }) },
  });
  let failed: ((e: Error) => void) | null = null;
  child.on("exit", (c) => failed?.(new Error(`node agent exited (${c})`)));
  const next = () => new Promise<unknown>((ok, fail) => {
    failed = fail;
    child.once("message", ok);
  });
  await next();
  return {
    label: spec,
    async profile(phase, w) {
      const r = next();
      child.send({ phase, warm: w });
      return (await r) as Profile;
    },
    async close() {
      child.kill();
    },
  };
}

async function workerdTarget(spec: string): Promise<Target> {
  const o = options(spec);
  const { Miniflare, convertV4MiniflareOptions } = await import("miniflare");
  const { bundle } = await import("../../scripts/lib/bench-workerd");
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-profile-"));
  const { script, wasm } = await bundle(dir);
  const port = 9300 + ((process.pid * 7 + dir.length * 13 + Math.floor(Math.random() * 500)) % 600);
  env.MINIFLARE_WORKERD_V8_FLAGS = o.v8.join(" "); // read when miniflare starts workerd
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: [{ type: "ESModule", path: script }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) }))],
      modulesRoot: dir,
      compatibilityDate: "2025-01-01",
      inspectorPort: port,
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  const call = async (path: string) => {
    const res = await mf.dispatchFetch(`http://bench${path}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`workerd ${path}: ${text}`);
    return text;
  };
  await call("/noop");
  delete env.MINIFLARE_WORKERD_V8_FLAGS;
  const timed = async (path: string) => {
    const t0 = performance.now();
    await call(path);
    return performance.now() - t0;
  };
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((ok, fail) => ((ws.onopen = ok), (ws.onerror = fail)));
  let nextId = 1;
  const pending = new Map<number, (r: { result?: Record<string, unknown>; error?: unknown }) => void>();
  ws.onmessage = (ev) => {
    const m = JSON.parse(String(ev.data)) as { id?: number; result?: Record<string, unknown>; error?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m);
  };
  const post = async (method: string, params: object = {}) => {
    const id = nextId++;
    const r = await new Promise<{ result?: Record<string, unknown>; error?: unknown }>((ok) => {
      pending.set(id, ok);
      ws.send(JSON.stringify({ id, method, params }));
    });
    if (r.error) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
    return r.result!;
  };
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval });
  await call(`/load?model=${modelId}&backend=${backend}&prefill=${prefill}&decode=${decode}${o.fused !== undefined ? `&fused=${o.fused}` : ""}`);
  const ready = async (phase: Phase) => {
    await call("/session");
    if (phase === "decode") await call("/prefill");
  };
  return {
    label: spec,
    async profile(phase, w) {
      for (let i = 0; i < w; i++) {
        await ready(phase);
        await call(`/${phase}`);
      }
      await ready(phase);
      await post("Profiler.start");
      // Timed from outside as the bench does (workerd's clock stands still): the round trip less an empty one's.
      const rtt = await timed("/noop");
      const wallMs = (await timed(`/${phase}`)) - rtt;
      return { ...((await post("Profiler.stop")).profile as Profile), wallMs };
    },
    async close() {
      ws.close();
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main() {
  const specs = (env.TARGETS ?? "node;workerd").split(";").map((s) => s.trim()).filter(Boolean);
  const rounds = Number(env.ROUNDS ?? 6), top = Number(env.TOP ?? 20);
  const targets: Target[] = [];
  try {
    for (const s of specs) targets.push(options(s).runtime === "workerd" ? await workerdTarget(s) : await nodeTarget(s));
    // per phase, per target: one Map of self ms per round
    const got = new Map<string, Map<string, number>[]>();
    for (let r = 0; r < rounds; r++) {
      for (const phase of PHASES) {
        for (const t of targets) {
          const p = await t.profile(phase, r === 0 ? warm : 0);
          const key = `${phase}\t${t.label}`;
          const times = selfTimes(p, names);
          if (p.wallMs !== undefined) times.set("[wall, timed as the bench does]", p.wallMs);
          got.set(key, [...(got.get(key) ?? []), times]);
          if (env.OUT) {
            mkdirSync(env.OUT, { recursive: true });
            writeFileSync(join(env.OUT, `${t.label.replace(/[^\w=.-]+/g, "_")}-${modelId}-${phase}.cpuprofile`), JSON.stringify(p));
          }
        }
      }
    }
    report(got, targets.map((t) => t.label), rounds, top);
  } finally {
    for (const t of targets) await t.close();
  }
}

function report(got: Map<string, Map<string, number>[]>, labels: string[], rounds: number, top: number) {
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  console.log(`${modelId} ${backend}: prefill ${prefill} / decode ${decode} tokens, ${rounds} alternated rounds after ${warm} unprofiled runs, sampling every ${interval} µs`);
  console.log(`targets: ${labels.map((l, i) => `[${i}] ${l}`).join("  ")}`);
  for (const phase of PHASES) {
    const n = phase === "prefill" ? prefill : decode;
    const per = labels.map((l) => got.get(`${phase}\t${l}`)!);
    const us = (i: number, name: string) => median(per[i]!.map((m) => ((m.get(name) ?? 0) * 1000) / n));
    const names = new Set<string>();
    for (const rs of per) for (const m of rs) for (const k of m.keys()) names.add(k);
    const kinds = ["[wall, timed as the bench does]", "[busy]", "[wasm]", "[wasm: matmuls]", "[JS]", "[GC]", "[program]", "[idle]"];
    const fns = [...names].filter((k) => !k.startsWith("[") && k !== "(idle)");
    fns.sort((a, b) => Math.max(...labels.map((_, i) => us(i, b))) - Math.max(...labels.map((_, i) => us(i, a))));
    // Per-round ratio to target 0 (the same round's load on both), then the median over rounds.
    const ratio = (i: number, name: string) => {
      const r = per[i]!.map((m, j) => (m.get(name) ?? 0) / (per[0]![j]!.get(name) ?? 0)).filter(Number.isFinite);
      return r.length ? median(r).toFixed(2).padStart(6) : "     -";
    };
    console.log(`\n${phase}: µs per token, self time (median over rounds); then each target's time / [0]'s (median of per-round ratios)`);
    console.log(`  ${"".padEnd(44)} ${labels.map((_, i) => `[${i}]`.padStart(8)).join(" ")}   ${labels.slice(1).map((_, i) => `[${i + 1}]/[0]`.padStart(6)).join(" ")}`);
    for (const k of [...kinds, ...fns.slice(0, top)]) {
      console.log(`  ${k.slice(0, 44).padEnd(44)} ${labels.map((_, i) => us(i, k).toFixed(1).padStart(8)).join(" ")}   ${labels.slice(1).map((_, i) => ratio(i + 1, k)).join(" ")}`);
    }
  }
}
