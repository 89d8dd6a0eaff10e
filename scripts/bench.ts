// `npm run bench`: prefill and decode tokens/s per model × backend (× runtime): a table, or a JSON report (--json, --json-out).
import "../src/backends/wasm/load-node";
import { writeFileSync } from "node:fs";
import { parseFlags, UsageError } from "./lib/args";
import { DEFAULT_BACKENDS, DEFAULT_MODELS } from "./lib/bench-core";
import { benchReport, type BenchReportRow } from "./lib/bench-report";
import { parseKvTypeFlag, runBench, type BenchCliOptions } from "./lib/bench-run";
import { formatTable } from "./lib/bench-table";

const USAGE = `usage: npm run bench -- [--models ID,...] [--backends ref,wasm-simd128,wasm-relaxed,webgpu] [--runtimes node,workerd]
       [--prefill N] [--decode N] [--runs N] [--warmup N] [--kv-type f32|f16|q8_0] [--quick] [--json] [--json-out FILE]
       [--profile] [--vs-llama-cpp]
  models: ${DEFAULT_MODELS.join(", ")} (default: all), tiny-Q8_0, tiny-Q4_0, or any .gguf in the model directory
  --quick: 3 runs after 1 warm-up (default 5 after 1). ref on smollm2-135m prefills 32 and decodes 16 tokens.
  --runtimes workerd: also runs the synthetic shapes inside workerd (miniflare), timed from Node per phase.
  --kv-type: how our contexts' KV cache stores K and V (default f32, the product's default); llama.cpp keeps its F16.
    q8_0 needs head dimensions divisible by 32: a model that cannot take it is skipped with a log line. webgpu rows,
    --profile and --sharded take f32 only.
  --json: print the report (date, machine, runtime, settings, rows) on stdout instead of the table.
  --json-out FILE: also write the report to FILE (the table still goes to stdout); npm run docs:bench renders it.
  --profile: instead of the table, time per backend op (matmuls by weight), prefill and decode.
  --vs-llama-cpp: also time llama.cpp (node-llama-cpp's prebuilt CPU library, 1 thread, F16 KV) on the same GGUF
    file, alternating runs with ours (Node backends), with ratio columns; the prefill is one llama_decode there. With
    --runtimes node,workerd the workerd rows follow, each of their runs followed by a llama.cpp run of the same file
    (rows "llama.cpp (…) beside workerd"), and their ratios divide by those. Ratios are paired: the median of each
    run of ours over the llama.cpp run beside it (rows' paired_ratio), then the medians' ratio in parentheses, and
    "!min–max" where the paired ratios spread over 20%.
  --sharded: SmolLM2-360M- and Llama-3.2-1B-shaped Q4_K_M files (--quick: a stories15M-shaped Q8_0 at 8 MiB) served
    by ModelShard objects under \`wrangler dev\` (shards of at most 128 MiB) beside the same file in Node, one run:
    prefill/decode tok/s and ratios, per-hop overhead, two concurrent sessions, every shard's memory. --backends takes
    one backend (default wasm-relaxed); files are cached in build/bench-sharded. Each shard runs as its own Worker
    script (an isolate each, \`npm run shards:config\`); --one-script: every shard object in the main Worker's one
    isolate instead. --render: docs/sharding.md's block from docs/bench-sharded/*.json.
  Progress goes to stderr.`;

const list = (s: string | undefined, dflt: readonly string[]) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : [...dflt]);

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), {
    models: "string",
    backends: "string",
    runtimes: "string",
    prefill: "number",
    decode: "number",
    runs: "number",
    warmup: "number",
    "kv-type": "string",
    quick: "boolean",
    profile: "boolean",
    "vs-llama-cpp": "boolean",
    sharded: "boolean",
    "one-script": "boolean",
    render: "boolean",
    json: "boolean",
    "json-out": "string",
    help: "boolean",
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  for (const k of ["prefill", "decode", "runs"] as const) {
    const v = flags[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError(`--${k} must be a positive integer`);
  }
  if (flags.warmup !== undefined && (!Number.isInteger(flags.warmup) || flags.warmup < 0)) throw new UsageError("--warmup must be an integer ≥ 0");
  const kvType = parseKvTypeFlag(flags["kv-type"]);
  if (kvType !== "f32" && (flags.sharded || flags.profile)) throw new UsageError(`--kv-type ${kvType} is not applied by --${flags.sharded ? "sharded" : "profile"} (f32 only)`);
  if (flags.sharded) {
    const { shardedCli } = await import("./lib/bench-sharded-cli");
    return shardedCli(flags, (line) => process.stderr.write(`${line}\n`));
  }
  const opts: BenchCliOptions = {
    models: list(flags.models, DEFAULT_MODELS),
    backends: list(flags.backends, DEFAULT_BACKENDS),
    runtimes: list(flags.runtimes, ["node"]),
    prefill: flags.prefill ?? 128,
    decode: flags.decode ?? 128,
    runs: flags.runs ?? (flags.quick ? 3 : 5),
    warmup: flags.warmup ?? 1,
    kvType,
    log: (line) => process.stderr.write(`${line}\n`),
  };
  if (flags.profile) {
    const { profileModel } = await import("./lib/bench-profile");
    const { findModel, modelBytes } = await import("./lib/bench-core");
    const { readBenchModel } = await import("./lib/bench-run");
    for (const id of opts.models) {
      const spec = findModel(id);
      const bytes = modelBytes(spec, readBenchModel);
      for (const b of opts.backends) console.log(profileModel(spec, bytes, b, opts).join("\n"));
    }
    return;
  }
  let rows: BenchReportRow[];
  const engines: Record<string, string> = {};
  if (flags["vs-llama-cpp"]) {
    if (!opts.runtimes.includes("node")) throw new UsageError("--vs-llama-cpp alternates with the Node backends: --runtimes must include node");
    const { benchVsLlamaCpp, LLAMA_CPP_RUNTIME } = await import("./lib/bench-llama-cpp");
    const r = benchVsLlamaCpp(opts);
    rows = r.rows;
    engines.llama_cpp = `${LLAMA_CPP_RUNTIME}, ggml CPU variant ${r.cpuVariant}`;
    // workerd rows come after every alternated round, each of their runs followed by a llama.cpp run of the same
    // file: their ratios divide by those llama.cpp rows ("beside workerd"), not by the ones beside Node.
    if (opts.runtimes.includes("workerd")) {
      const { LlamaCppBeside } = await import("./lib/bench-llama-cpp");
      const beside = new LlamaCppBeside(opts, "workerd");
      try {
        rows = [...rows, ...(await runBench({ ...opts, runtimes: ["workerd"] }, beside)), ...beside.rows()];
      } finally {
        beside.free();
      }
    }
  } else {
    rows = await runBench(opts);
  }
  const report = benchReport(
    {
      models: [...opts.models],
      backends: [...opts.backends],
      runtimes: [...opts.runtimes],
      prefill: opts.prefill,
      decode: opts.decode,
      runs: opts.runs,
      warmup: opts.warmup,
      prefill_batch: 32,
      kv_type: kvType,
    },
    rows,
    new Date(),
    engines,
  );
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (flags["json-out"]) {
    writeFileSync(flags["json-out"], json);
    opts.log?.(`report written to ${flags["json-out"]}`);
  }
  if (flags.json) {
    process.stdout.write(json);
  } else {
    console.log(`prefill ${opts.prefill}-token prompt, decode ${opts.decode} tokens one at a time (unless the row says fewer), KV cache ${kvType}; median of ${opts.runs} runs after ${opts.warmup} warm-up`);
    console.log(formatTable(rows));
  }
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(e instanceof Error ? (process.env.BENCH_STACK ? e.stack + "\ncause: " + String((e as { cause?: unknown }).cause) : e.message) : e);
  process.exit(1);
});
