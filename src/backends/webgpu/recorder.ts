/// <reference types="@webgpu/types" />
// Records dispatches and copies into one command encoder and submits them together, with a parameter arena that is
// uploaded once per submission (each dispatch reads its own 256-byte slot through a dynamic offset).
import { PARAM_SLOT_BYTES, type Kernel } from "./kernels";

/** Parameter fields of common.wgsl's `Params`: a, b (u32 × 4), f (f32 × 4), tok (up to 48 u32). */
export interface DispatchParams {
  a?: readonly number[];
  b?: readonly number[];
  f?: readonly number[];
  tok?: readonly number[];
}

/** Slots per arena: a submission is cut when they run out (a llama layer needs about 20). */
const SLOTS = 1024;
const SLOT_WORDS = PARAM_SLOT_BYTES / 4;
export const MAX_TOKENS_PER_DISPATCH = 48;

export class Recorder {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly words = new Uint32Array(SLOTS * SLOT_WORDS);
  private readonly floats = new Float32Array(this.words.buffer);
  private slot = 0;
  private readonly paramsBuffer: GPUBuffer;
  /** Counters for benchmarks: compute dispatches and their workgroups recorded, command buffers submitted. */
  dispatches = 0;
  workgroups = 0;
  submissions = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxGroupsPerDim: number,
  ) {
    const UNIFORM = 64;
    const COPY_DST = 8;
    this.paramsBuffer = device.createBuffer({ label: "params", size: SLOTS * PARAM_SLOT_BYTES, usage: UNIFORM | COPY_DST });
  }

  /** Records one dispatch of `groups` workgroups (spread over x and y past the per-dimension limit) × `z`. */
  dispatch(kernel: Kernel, buffers: readonly GPUBuffer[], p: DispatchParams, groups: number, z = 1): void {
    if (groups === 0 || z === 0) return;
    if (this.slot === SLOTS) this.flush();
    const nx = Math.min(groups, this.maxGroupsPerDim);
    const ny = Math.ceil(groups / nx);
    const base = this.slot * SLOT_WORDS;
    this.words.fill(0, base, base + SLOT_WORDS);
    if (p.a) this.words.set(p.a, base);
    if (p.b) this.words.set(p.b, base + 4);
    this.words[base + 7] = nx; // P.b.w: flat_group() in common.wgsl
    if (p.f) this.floats.set(p.f, base + 8);
    if (p.tok) {
      if (p.tok.length > MAX_TOKENS_PER_DISPATCH) throw new RangeError(`webgpu: at most ${MAX_TOKENS_PER_DISPATCH} token ids per dispatch`);
      this.words.set(p.tok, base + 12);
    }
    const pass = this.computePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, kernel.bindGroup(this.paramsBuffer, buffers), [this.slot * PARAM_SLOT_BYTES]);
    pass.dispatchWorkgroups(nx, ny, z);
    this.slot++;
    this.dispatches++;
    this.workgroups += nx * ny * z;
  }

  /** Records a buffer-to-buffer copy (byte offsets and size multiples of 4) in order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Records zero-filling a whole buffer. */
  clear(buffer: GPUBuffer): void {
    this.endPass();
    this.commandEncoder().clearBuffer(buffer);
  }

  /** Submits everything recorded so far (no-op when nothing is). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.slot > 0) this.device.queue.writeBuffer(this.paramsBuffer, 0, this.words, 0, this.slot * SLOT_WORDS);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slot = 0;
    this.submissions++;
  }

  get pending(): boolean {
    return this.encoder !== null;
  }

  private commandEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private computePass(): GPUComputePassEncoder {
    return (this.pass ??= this.commandEncoder().beginComputePass());
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}
