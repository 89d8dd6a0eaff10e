// Backend selection: the one place that maps a backend name (config, CLI flag) to an implementation.
import type { Backend } from "./backend";
import { RefBackend } from "./ref/ref-backend";
import { WasmBackend } from "./wasm/wasm-backend";
import { kernelModules, moduleFor, pickBuild } from "./wasm/kernel-modules";
import { WebGpuBackend } from "./webgpu/webgpu-backend";
import { FailoverBackend } from "./webgpu/failover-backend";
// Node: kernels are read from build/kernels on first use. Workers: import ./wasm/load-workers (static .wasm imports).
import "./wasm/load-node";

/**
 * Every backend name: "ref" (plain TypeScript, the spec), the wasm builds, "webgpu". "wasm" picks the relaxed-SIMD build where
 * the engine validates it, else SIMD128. In Workers the wasm backends need backends/wasm/load-workers imported.
 * "webgpu" needs an adapter (navigator.gpu, or in Node `scripts/lib/gpu-node` imported) and createBackendAsync.
 */
export const BACKEND_NAMES = ["ref", "wasm", "wasm-simd128", "wasm-relaxed", "webgpu"] as const;
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
    case "webgpu":
      throw new Error('the webgpu backend opens its device asynchronously: use createBackendAsync("webgpu")');
    default:
      throw new Error(`unknown backend "${name}"; available: ${BACKEND_NAMES.join(", ")}, auto`);
  }
}

export interface BackendSelection {
  /** Whether "auto" may pick webgpu (default true). */
  allowWebGpu?: boolean;
  /** Where the failover warning goes when a GPU device is lost (default console.warn). */
  warn?: (message: string) => void;
}

/**
 * Any backend name, and "auto": webgpu when allowed and an adapter exists, else wasm, else ref. "webgpu" runs behind a
 * FailoverBackend: a lost device moves the model to wasm with a logged warning, and generation continues.
 */
export async function createBackendAsync(name: string = "auto", options: BackendSelection = {}): Promise<Backend> {
  if (name === "webgpu") return new FailoverBackend(await WebGpuBackend.create(), () => createBackend("wasm"), options.warn);
  if (name !== "auto") return createBackend(name);
  if (options.allowWebGpu !== false) {
    try {
      return await createBackendAsync("webgpu", options);
    } catch {
      // no adapter here: the CPU backends follow
    }
  }
  try {
    return createBackend("wasm");
  } catch {
    return createBackend("ref");
  }
}
