// Self time per function and per kind (wasm, JS, GC, program, idle) of a V8 CPU profile (Chrome DevTools Protocol).
import { existsSync, readFileSync } from "node:fs";

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
/** Profiler.stop's profile (the fields used here), plus the phase's time measured from outside where known. */
export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
  wallMs?: number;
}

/** The kind of a profile node: how its self time is summed. */
export function kind(f: CallFrame): string {
  if (f.functionName === "(garbage collector)") return "GC";
  if (f.functionName === "(idle)") return "idle";
  if (f.functionName === "(program)" || f.functionName === "(root)") return "program";
  if (f.url.startsWith("wasm://") || /^\$|^wasm-function/.test(f.functionName)) return "wasm";
  return "JS";
}

/** Function index → name, from a module's text form (imports first, then functions, as wasm numbers them). */
export function watFunctionNames(watPath: string): string[] {
  if (!existsSync(watPath)) return [];
  return parseWatFunctionNames(readFileSync(watPath, "utf8"));
}

export function parseWatFunctionNames(wat: string): string[] {
  return [...wat.matchAll(/^ \((?:import "[^"]*" "[^"]*" \(func|func) \$(\S+)/gm)].map((m) => m[1]!.split("/").pop()!);
}

/**
 * Self ms per function and per kind ("[wasm]", "[JS]", ..., "[busy]" = all but idle, "[wasm: matmuls]" = every form of
 * every matmul, which the engine picks per runtime). A sample's time is the delta to the next sample (the last one's
 * own delta stands in), so the sums are the profile's real time, not samples × interval. V8 names a wasm function
 * without a name section `wasm-function[i]`; `names` (watFunctionNames) turns that into "name (wasm i)".
 */
export function selfTimes(p: Profile, names: readonly string[] = []): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  const add = (k: string, ms: number) => out.set(k, (out.get(k) ?? 0) + ms);
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(p.samples[i]!);
    if (!node) throw new Error(`profile sample ${i} names node ${p.samples[i]}, which the profile lacks`);
    const f = node.callFrame;
    const k = kind(f);
    const file = f.url.split("/").pop() ?? "";
    const wasmIndex = /^wasm-function\[(\d+)\]$/.exec(f.functionName)?.[1];
    const known = wasmIndex !== undefined ? names[Number(wasmIndex)] : undefined;
    const name = known ? `${known} (wasm ${wasmIndex})` : f.functionName || "(anonymous)";
    add(`${name}${file && k === "JS" ? ` ${file.replace(/\?.*/, "")}:${f.lineNumber + 1}` : ""}`, ms);
    add(`[${k}]`, ms);
    if (k === "wasm" && /^matmul_|Fused /.test(name)) add("[wasm: matmuls]", ms);
    if (k !== "idle") add("[busy]", ms);
  }
  return out;
}
