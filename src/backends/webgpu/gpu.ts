/// <reference types="@webgpu/types" />
// Finding a WebGPU adapter: navigator.gpu where the runtime has one (browsers, Deno), else a registered provider (Node: Dawn).

type AdapterProvider = () => Promise<GPUAdapter | null>;
let provider: AdapterProvider | undefined;

/** Node has no navigator.gpu: scripts/lib/gpu-node.ts (Node tooling and tests) registers Dawn (npm `webgpu`) here when imported. */
export function registerGpuAdapterProvider(p: AdapterProvider): void {
  provider = p;
}

/** An adapter, or null when this runtime has no WebGPU (the caller decides whether that is an error). */
export async function requestGpuAdapter(): Promise<GPUAdapter | null> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu) {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter) return adapter;
  }
  return provider ? provider() : null;
}

/** Limits the kernels need beyond the defaults: the adapter's own maxima for buffer sizes and storage bindings. */
const RAISED_LIMITS = ["maxStorageBufferBindingSize", "maxBufferSize", "maxStorageBuffersPerShaderStage", "maxComputeWorkgroupsPerDimension"] as const;
/** matmul_quant.wgsl and attention.wgsl bind four storage buffers (compatibility mode's default). */
const STORAGE_BUFFERS_NEEDED = 4;

/** A device with the adapter's maximum buffer limits; core features only (no optional feature is required). */
export async function openDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  if (adapter.limits.maxStorageBuffersPerShaderStage < STORAGE_BUFFERS_NEEDED) {
    throw new Error(`webgpu: the adapter allows ${adapter.limits.maxStorageBuffersPerShaderStage} storage buffers per stage; the kernels need ${STORAGE_BUFFERS_NEEDED}`);
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) requiredLimits[k] = adapter.limits[k];
  return adapter.requestDevice({ requiredLimits });
}
