// Node loader: reads build/kernels/*.wasm (npm run build:kernels) and registers them, lazily, on first wasm backend.
// Safe to bundle for Workers (no static node: imports, nothing runs at import): select.ts imports it so Node callers
// need no extra import, while a Worker registers its statically imported modules through load-workers instead.
import { registerKernelModuleLoader, type KernelModules } from "./kernel-modules";

// src/ is also type-checked against the Workers types (no node:fs, no import.meta.url, no `new WebAssembly.Module`),
// so Node's fs is reached through process.getBuiltinModule (Node ≥ 22.3) and the few types are declared here.
interface NodeFs {
  existsSync(path: URL): boolean;
  readFileSync(path: URL): Uint8Array;
}
type ModuleCtor = new (bytes: Uint8Array) => WebAssembly.Module;

function nodeFs(): NodeFs {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.("node:fs") as NodeFs | undefined;
  if (!fs) throw new Error("wasm kernels: load-node needs Node 22.3+ (process.getBuiltinModule); in Workers import load-workers");
  return fs;
}

/** build/kernels/ at the repository root, found relative to this file (works under vitest and tsx alike). */
export function kernelDir(): URL {
  return new URL("../../../build/kernels/", (import.meta as { url?: string }).url);
}

function compile(fs: NodeFs, file: string): WebAssembly.Module {
  const url = new URL(file, kernelDir());
  if (!fs.existsSync(url)) throw new Error(`wasm kernels: ${url.pathname} is missing; run \`npm run build:kernels\``);
  return new (WebAssembly.Module as unknown as ModuleCtor)(fs.readFileSync(url));
}

/** Compiles both builds from disk. */
export function loadNodeKernelModules(): KernelModules {
  const fs = nodeFs();
  return { simd128: compile(fs, "simd128.wasm"), relaxed: compile(fs, "relaxed.wasm") };
}

registerKernelModuleLoader(loadNodeKernelModules);
