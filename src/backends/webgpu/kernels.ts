/// <reference types="@webgpu/types" />
// Compute pipelines for the embedded WGSL kernels, created once per (kernel, weight type), with their bind groups cached.
import { WGSL_SHADERS } from "../../../build/kernels/wgsl";

export type KernelName = keyof typeof WGSL_SHADERS;

/** Storage bindings after the parameter slot (binding 0), in binding order: read-only or read-write. */
const BINDINGS: Record<KernelName, readonly ("r" | "rw")[]> = {
  add: ["r", "rw"],
  add_bias: ["r", "rw"],
  attention: ["r", "r", "r", "rw"],
  embed: ["r", "rw"],
  kv_round: ["rw"],
  matmul_float: ["r", "r", "rw"],
  matmul_quant: ["r", "r", "r", "rw"],
  noop: ["rw"],
  quantize_act: ["r", "rw", "rw"],
  rmsnorm: ["r", "r", "rw"],
  rope: ["r", "rw"],
  softmax: ["rw"],
  swiglu: ["r", "r", "rw"],
};

/** Bytes of one parameter slot: the `Params` struct of common.wgsl, padded to the dynamic-offset alignment. */
export const PARAM_SLOT_BYTES = 256;

const BUFFER_IDS = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;
function bufferId(b: GPUBuffer): number {
  let id = BUFFER_IDS.get(b);
  if (id === undefined) BUFFER_IDS.set(b, (id = nextBufferId++));
  return id;
}

export class Kernel {
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  constructor(
    readonly name: KernelName,
    readonly pipeline: GPUComputePipeline,
    private readonly layout: GPUBindGroupLayout,
    private readonly device: GPUDevice,
  ) {}

  /** The bind group of (params arena, buffers), cached: a decode step binds the same buffers every token. */
  bindGroup(params: GPUBuffer, buffers: readonly GPUBuffer[]): GPUBindGroup {
    const key = buffers.map(bufferId).join(",") + "/" + bufferId(params);
    let bg = this.bindGroups.get(key);
    if (!bg) {
      // Tests and short-lived buffers would otherwise grow the cache without bound.
      if (this.bindGroups.size >= 4096) this.bindGroups.clear();
      bg = this.device.createBindGroup({
        layout: this.layout,
        entries: [{ binding: 0, resource: { buffer: params, size: PARAM_SLOT_BYTES } }, ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }))],
      });
      this.bindGroups.set(key, bg);
    }
    return bg;
  }
}

export class KernelCache {
  private readonly kernels = new Map<string, Kernel>();
  constructor(private readonly device: GPUDevice) {}

  /** The kernel, compiled on first use with these pipeline-overridable constants (WTYPE, SPLIT). */
  get(name: KernelName, constants?: Record<string, number>): Kernel {
    const key = constants === undefined ? name : `${name}/${JSON.stringify(constants)}`;
    let k = this.kernels.get(key);
    if (!k) {
      const COMPUTE = 4; // GPUShaderStage.COMPUTE (the global constant is missing in some runtimes)
      const layout = this.device.createBindGroupLayout({
        entries: [
          { binding: 0, visibility: COMPUTE, buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: PARAM_SLOT_BYTES } },
          ...BINDINGS[name].map((access, i) => ({ binding: i + 1, visibility: COMPUTE, buffer: { type: access === "r" ? ("read-only-storage" as const) : ("storage" as const) } })),
        ],
      });
      const module = this.device.createShaderModule({ code: WGSL_SHADERS[name], label: name });
      const pipeline = this.device.createComputePipeline({
        label: key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: "main", ...(constants === undefined ? {} : { constants }) },
      });
      k = new Kernel(name, pipeline, layout, this.device);
      this.kernels.set(key, k);
    }
    return k;
  }
}
