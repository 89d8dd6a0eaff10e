// Node's WebGPU: Dawn from the npm `webgpu` package, registered as the adapter provider when this module is imported.
import { create } from "webgpu";
import { registerGpuAdapterProvider } from "../../src/backends/webgpu/gpu";

type Env = Record<string, string | undefined>;
const env = (): Env => (globalThis as { process?: { env: Env } }).process?.env ?? {};

// Instances must outlive their adapters and devices, so they are kept here.
const instances: GPU[] = [];

/**
 * Dawn's default backend first (Vulkan, Metal, D3D12: a real GPU, or llvmpipe with a recent Mesa), then its OpenGL ES
 * backend in compatibility mode, which runs on stock Mesa's software rasteriser without a display (EGL surfaceless).
 * EDGE_LLAMA_DAWN_FLAGS (comma-separated Dawn toggles such as `backend=opengles`) pins one set-up.
 */
async function dawnAdapter(): Promise<GPUAdapter | null> {
  const e = env();
  e.EGL_PLATFORM ??= "surfaceless";
  const pinned = e.EDGE_LLAMA_DAWN_FLAGS;
  const attempts: [string[], GPURequestAdapterOptions][] = pinned
    ? [[pinned.split(","), { featureLevel: pinned.includes("opengles") ? "compatibility" : "core" }]]
    : [
        [[], {}],
        [["backend=opengles"], { featureLevel: "compatibility" }],
      ];
  for (const [flags, options] of attempts) {
    const gpu = create(flags);
    const adapter = await gpu.requestAdapter(options);
    if (adapter) {
      instances.push(gpu);
      return adapter;
    }
  }
  return null;
}

registerGpuAdapterProvider(dawnAdapter);
