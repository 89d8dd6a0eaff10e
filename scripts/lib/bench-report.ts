// The machine-readable result of one `npm run bench` invocation: when, on what machine and runtime, with which settings, its rows.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, cpus, platform, release, totalmem } from "node:os";
import type { BenchRow } from "./bench-core";
import type { KvType } from "../../src/backends/kv-format";

/** Value of the report's `format` field; bumped when a field changes meaning. */
export const BENCH_REPORT_FORMAT = "edge-llama-bench/1";

export interface BenchMachine {
  /** CPU model name (`model name` in /proc/cpuinfo, else what Node reports). */
  cpu: string;
  /** Logical CPUs the OS reports. */
  cores: number;
  /** The flags that decide which SIMD paths the runtimes can take: avx, avx2, fma, f16c, avx_vnni and every avx512*. */
  cpu_flags: string[];
  memory_bytes: number;
  os: string;
}

/** Engine versions: node and v8 always; workerd when a row ran there; other engines (e.g. `llama_cpp`) add their own key. */
export interface BenchRuntime {
  node: string;
  v8: string;
  workerd: string | null;
  [engine: string]: string | null;
}

export interface BenchSettings {
  models: string[];
  backends: string[];
  runtimes: string[];
  /** Prompt tokens prefilled per run (rows may say fewer: see their prefill_tokens). */
  prefill: number;
  /** Tokens decoded one at a time per run (rows may say fewer: see their decode_tokens). */
  decode: number;
  runs: number;
  warmup: number;
  /** Tokens per forward pass during prefill. */
  prefill_batch: number;
  /** How our rows' KV cache stored K and V (--kv-type); absent in older reports, which ran f32. */
  kv_type?: KvType;
}

/**
 * A row as the report holds it. Our engine's rows are BenchRow; a row measured by another engine in the same run
 * (backend "llama.cpp") has the same model/type naming and figures, and may leave the memory fields null.
 */
export type BenchReportRow = Omit<BenchRow, "weights_bytes" | "peak_memory_bytes"> & {
  weights_bytes: number | null;
  peak_memory_bytes: number | null;
};

export interface BenchReport {
  format: typeof BENCH_REPORT_FORMAT;
  /** ISO 8601, UTC: when the run finished. */
  date: string;
  machine: BenchMachine;
  runtime: BenchRuntime;
  settings: BenchSettings;
  rows: BenchReportRow[];
}

const RELEVANT_FLAG = /^(avx|avx2|fma|f16c|avx_vnni|avx512\w*)$/;

/** This machine, read from /proc/cpuinfo where it exists. */
export function machineInfo(cpuinfo: string | null = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : null): BenchMachine {
  const field = (name: string) => cpuinfo?.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
  const flags = (field("flags") ?? "").split(/\s+/).filter((f) => RELEVANT_FLAG.test(f));
  return {
    cpu: field("model name") ?? cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    cpu_flags: [...new Set(flags)].sort(),
    memory_bytes: totalmem(),
    os: `${platform()} ${release()} ${arch()}`,
  };
}

/** The workerd binary's version, from its npm package (miniflare runs that binary). */
export function workerdVersion(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return (require("workerd/package.json") as { version: string }).version;
  } catch {
    return null;
  }
}

/** Assembles the report of one invocation. */
export function benchReport(settings: BenchSettings, rows: readonly BenchReportRow[], date = new Date(), engines: Record<string, string> = {}): BenchReport {
  return {
    format: BENCH_REPORT_FORMAT,
    date: date.toISOString(),
    machine: machineInfo(),
    runtime: {
      node: process.version,
      v8: process.versions.v8,
      workerd: rows.some((r) => r.runtime.startsWith("workerd")) ? workerdVersion() : null,
      ...engines,
    },
    settings,
    rows: [...rows],
  };
}
