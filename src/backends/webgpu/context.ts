/// <reference types="@webgpu/types" />
// The webgpu backend's recording context: device, recorder, kernels and buffer pool, with the dispatch, in-place and read-back helpers every op module uses.
import { BufferPool, type GpuBuffer } from "./buffers";
import { DeviceWatch } from "./device-watch";
import { KernelCache, type KernelName } from "./kernels";
import { Recorder, type DispatchParams } from "./recorder";

/** Workgroups of 64 threads covering n items. */
export const groupsOf = (n: number) => Math.ceil(n / 64);

export class GpuContext {
  readonly rec: Recorder;
  readonly kernels: KernelCache;
  readonly pool: BufferPool;
  readonly watch: DeviceWatch;
  /** The largest storage buffer one binding may hold. */
  readonly maxBinding: number;

  constructor(readonly device: GPUDevice) {
    const l = device.limits;
    this.maxBinding = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
    this.rec = new Recorder(device, l.maxComputeWorkgroupsPerDimension);
    this.kernels = new KernelCache(device);
    this.pool = new BufferPool(device, this.maxBinding);
    this.watch = new DeviceWatch(device);
  }

  /** Records `groups` workgroups of the parameterless variant of kernel `name`. */
  run(name: KernelName, buffers: GPUBuffer[], p: DispatchParams, groups: number): void {
    this.rec.dispatch(this.kernels.get(name), buffers, p, groups);
  }

  /**
   * Runs `body` writing into `out`, or into a temporary copied to `out` afterwards when `out` is also an input (a
   * buffer may not be bound writable and readable in one dispatch). `accumulate`: the temporary starts as `out`.
   */
  intoTarget(out: GpuBuffer, inputs: readonly GpuBuffer[], body: (target: GPUBuffer) => void, accumulate = false): void {
    if (!inputs.includes(out)) {
      body(out.gpu);
    } else {
      const tmp = this.pool.take(out.gpu.size);
      if (accumulate) this.rec.copy(out.gpu, 0, tmp, 0, out.gpu.size);
      body(tmp);
      this.rec.copy(tmp, 0, out.gpu, 0, out.gpu.size);
      this.pool.give(tmp);
    }
    out.version++;
  }

  /** Records copies into a mappable buffer (`record`), submits everything and returns those bytes as floats. */
  async readBack(bytes: number, record: (staging: GPUBuffer) => void): Promise<Float32Array> {
    return this.watch.guard(async () => {
      const staging = this.pool.takeStaging(bytes);
      record(staging);
      this.rec.flush();
      const MAP_READ = 1;
      await staging.mapAsync(MAP_READ, 0, Math.ceil(bytes / 4) * 4);
      const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      this.pool.give(staging);
      return out;
    });
  }
}
