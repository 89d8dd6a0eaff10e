/// <reference types="@webgpu/types" />
// Device health for the webgpu backend: a lost device or a validation error surfaces as an exception on the next read.

/** Thrown by reads once the device is gone (destroyed, driver reset): the caller may fall back to another backend. */
export class WebGpuDeviceLostError extends Error {
  constructor(reason: string) {
    super(`webgpu: the device was lost (${reason})`);
    this.name = "WebGpuDeviceLostError";
  }
}

export class DeviceWatch {
  private lostReason: string | null = null;
  private readonly lost: Promise<never>;
  private gpuError: string | null = null;

  constructor(device: GPUDevice) {
    this.lost = device.lost.then((info) => {
      this.lostReason = info.message || info.reason || "unknown";
      throw new WebGpuDeviceLostError(this.lostReason);
    });
    this.lost.catch(() => {}); // observed through guard(); not an unhandled rejection
    // Validation errors are otherwise silent (the work is skipped): keep the first for the next read to throw.
    device.onuncapturederror = (ev) => {
      this.gpuError ??= ev.error.message;
    };
  }

  get isLost(): boolean {
    return this.lostReason !== null;
  }

  private async lostWithin(ms: number): Promise<boolean> {
    if (this.lostReason === null) await Promise.race([this.lost.catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms))]);
    return this.lostReason !== null;
  }

  /** `work`'s result, or WebGpuDeviceLostError when the device is (or gets) lost first; then any GPU error. */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.lostReason !== null) throw new WebGpuDeviceLostError(this.lostReason);
    let result: T;
    try {
      result = await Promise.race([work(), this.lost]);
    } catch (e) {
      // A failed map is how a lost device often shows first; its `lost` promise may settle a moment later.
      if (await this.lostWithin(100)) throw new WebGpuDeviceLostError(this.lostReason!);
      throw e;
    }
    if (this.gpuError !== null) {
      const msg = this.gpuError;
      this.gpuError = null;
      throw new Error(`webgpu: ${msg}`);
    }
    return result;
  }
}
