// Where the compiled kernel modules come from (a per-runtime loader registers them) and which build this engine runs.

/** The two builds of kernels/wasm: plain SIMD128, and relaxed SIMD where the engine supports it. */
export interface KernelModules {
  readonly simd128: WebAssembly.Module;
  readonly relaxed?: WebAssembly.Module;
}

export type WasmBuild = "simd128" | "relaxed";

let modules: KernelModules | null = null;
let loader: (() => KernelModules) | null = null;

/** Registers compiled modules (Workers: statically imported; Node: read from build/kernels). */
export function registerKernelModules(m: KernelModules): void {
  modules = m;
}

/** Registers a loader run on first use (unless modules were registered), so importing a loader costs nothing. */
export function registerKernelModuleLoader(load: () => KernelModules): void {
  loader = load;
}

export function kernelModules(): KernelModules {
  if (!modules && loader) modules = loader();
  if (!modules) {
    throw new Error(
      "wasm kernels are not loaded: in Workers, import src/backends/wasm/load-workers before creating a wasm backend",
    );
  }
  return modules;
}

/**
 * A minimal module whose one function uses f32x4.relaxed_madd and i32x4.relaxed_dot_i8x16_i7x16_add_s: validating it
 * tells whether this engine has relaxed SIMD, without compiling anything (Workers forbid run-time compilation).
 */
function relaxedProbe(): Uint8Array<ArrayBuffer> {
  const zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
  const code = [...zero, ...zero, ...zero, 0xfd, 0x85, 0x02, ...zero, ...zero, 0xfd, 0x93, 0x02, 0x0b];
  const body = [0x00, ...code]; // no locals
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
    0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // code section
  ]);
}

/** Whether the running engine validates relaxed-SIMD instructions. */
export function relaxedSimdSupported(validate: (bytes: Uint8Array<ArrayBuffer>) => boolean = (b) => WebAssembly.validate(b)): boolean {
  try {
    return validate(relaxedProbe());
  } catch {
    return false;
  }
}

/** The relaxed build where registered and supported, else SIMD128. */
export function pickBuild(m: KernelModules, relaxedOk: boolean = relaxedSimdSupported()): WasmBuild {
  return m.relaxed && relaxedOk ? "relaxed" : "simd128";
}

/** The module of a build, failing clearly when the engine or registration cannot provide it. */
export function moduleFor(build: WasmBuild): WebAssembly.Module {
  const m = kernelModules();
  if (build === "simd128") return m.simd128;
  if (!m.relaxed) throw new Error("wasm kernels: no relaxed-SIMD build was registered");
  if (!relaxedSimdSupported()) throw new Error("wasm kernels: this runtime does not support relaxed SIMD; use wasm-simd128");
  return m.relaxed;
}

/** Exposed for tests: the probe's bytes. */
export const RELAXED_PROBE = relaxedProbe();
