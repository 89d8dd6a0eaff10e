// `npm run shards:config [-- flags]`: one wrangler config per shard script (an isolate each) and the main Worker's config binding SHARDS_<i> to them; --dev starts them all in one `wrangler dev`.
import { spawn } from "node:child_process";
import { basename, join, relative, resolve } from "node:path";
import { parseFlags, UsageError } from "./lib/args";
import { QUIET_ENV, ROOT, WRANGLER } from "./lib/local-r2";
import { modelBucket } from "./lib/r2-multipart";
import { configArgs, mergedVars, parseVar, shardsConfigs, writeShardsConfigs } from "./lib/shards-config";
import { fileBucket, planFor, readWorkerConfig } from "./lib/shards-config-plan";

const USAGE = `usage: npm run shards:config -- [--config wrangler.toml] [--out build/shards] [--model FILE | --persist-to DIR]
       [--var NAME:VALUE]... [--dev [-- WRANGLER_DEV_ARGS]]
Plans the model exactly as the Worker does (MODEL_NAME, MEMORY_BUDGET_MB, N_CTX, SHARD_SESSIONS of the config's vars,
with --var overrides) and writes OUT/wrangler.shard-<i>.jsonc (script <name>-shard-<i>: the ModelShard class, the
MODELS bucket, the vars) and OUT/wrangler.main.jsonc (the config with a SHARDS_<i> binding per shard script and the
plan's fingerprint SHARD_PLAN, which the Worker checks).
  --model FILE     read the header from a local file (MODEL_NAME becomes its base name unless --var sets it)
  --persist-to DIR read it from the local bucket of \`wrangler dev --persist-to DIR\` (default .wrangler/state)
  --dev            then run \`wrangler dev\` with the main config and every shard config (one isolate per script);
                   arguments after \`--\` go to it (e.g. -- --port 8788)
Deploy: \`npx wrangler deploy -c OUT/wrangler.shard-<i>.jsonc\` for every shard, then \`-c OUT/wrangler.main.jsonc\`.`;

async function main(): Promise<void> {
  // --var may repeat: taken out before the other flags are parsed; what follows `--` is wrangler dev's.
  const all = process.argv.slice(2);
  const cut = all.indexOf("--");
  const argv = cut < 0 ? all : all.slice(0, cut);
  const devArgs = cut < 0 ? [] : all.slice(cut + 1);
  const overrides: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--var" || a.startsWith("--var=")) {
      const v = a === "--var" ? argv[++i] : a.slice(6);
      if (v === undefined) throw new UsageError("--var needs NAME:VALUE");
      const [k, val] = parseVar(v);
      overrides[k] = val;
    } else rest.push(a);
  }
  const { flags, positional } = parseFlags(rest, { config: "string", out: "string", model: "string", "persist-to": "string", dev: "boolean", help: "boolean" });
  if (flags.help) return void console.log(USAGE);
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  if (devArgs.length && !flags.dev) throw new UsageError("arguments after -- are for wrangler dev: add --dev");
  if (flags.model && flags["persist-to"]) throw new UsageError("--model and --persist-to name two sources of the model: give one");
  const configPath = resolve(flags.config ?? join(ROOT, "wrangler.toml"));
  const raw = await readWorkerConfig(configPath);
  const persistTo = resolve(flags["persist-to"] ?? join(ROOT, ".wrangler/state"));
  if (flags.model && overrides.MODEL_NAME === undefined) overrides.MODEL_NAME = basename(flags.model);
  const vars = mergedVars(raw, overrides);
  let plan;
  if (flags.model) {
    plan = await planFor(fileBucket(resolve(flags.model), vars.MODEL_NAME), vars);
  } else {
    const proxy = await modelBucket({ persistTo });
    try {
      plan = await planFor(proxy.bucket as unknown as R2Bucket, vars);
    } finally {
      await proxy.dispose();
    }
  }
  const configs = shardsConfigs({ raw, configPath, outDir: resolve(flags.out ?? join(ROOT, "build/shards")), vars, plan });
  writeShardsConfigs(configs);
  const show = (p: string) => relative(process.cwd(), p) || p;
  console.log(`${vars.MODEL_NAME}: ${plan.shards.length} shards at MEMORY_BUDGET_MB=${vars.MEMORY_BUDGET_MB ?? "128"} (plan ${configs.fingerprint})`);
  for (const g of [configs.main, ...configs.shards]) console.log(`  ${show(g.path)}  (${String(g.config.name)})`);
  if (!flags.dev) return;
  const args = ["dev", ...configArgs(configs).map((a) => (a === "-c" ? a : show(a))), "--persist-to", show(persistTo), ...devArgs];
  console.log(`wrangler ${args.join(" ")}`);
  // wrangler's local observability tails every invocation, each shard RPC included, to a collector and costs several
  // times the RPC itself (docs/sharding.md): off here unless X_LOCAL_OBSERVABILITY is set.
  const child = spawn(WRANGLER, args, { stdio: "inherit", env: { X_LOCAL_OBSERVABILITY: "false", ...process.env, ...QUIET_ENV } });
  await new Promise<void>((res) => child.on("exit", (code) => ((process.exitCode = code ?? 1), res())));
}

main().catch((e: unknown) => {
  console.error(e instanceof UsageError ? `${e.message}\n${USAGE}` : `shards:config: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
