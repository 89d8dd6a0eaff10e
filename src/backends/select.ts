// Backend selection: the one place that maps a backend name (config, CLI flag) to an implementation.
import type { Backend } from "./backend";
import { RefBackend } from "./ref/ref-backend";
import { WasmBackend } from "./wasm/wasm-backend";
import { kernelModules, moduleFor, pickBuild } from "./wasm/kernel-modules";
// Node: kernels are read from build/kernels on first use. Workers: import ./wasm/load-workers (static .wasm imports).
import "./wasm/load-node";

/**
 * Backends this build provides; faster ones join this list as they land. "wasm" picks the relaxed-SIMD build where
 * the engine validates it, else SIMD128. In Workers the wasm backends need backends/wasm/load-workers imported.
 */
export const BACKEND_NAMES = ["ref", "wasm", "wasm-simd128", "wasm-relaxed"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Creates the named backend, or explains which names exist. */
export function createBackend(name: string = "ref"): Backend {
  switch (name) {
    case "ref":
      return new RefBackend();
    case "wasm":
      return new WasmBackend(moduleFor(pickBuild(kernelModules())));
    case "wasm-simd128":
      return new WasmBackend(moduleFor("simd128"));
    case "wasm-relaxed":
      return new WasmBackend(moduleFor("relaxed"));
    default:
      throw new Error(`unknown backend "${name}"; available: ${BACKEND_NAMES.join(", ")}`);
  }
}
