// Types of builds-worker.mjs (kernel builds side by side in one workerd Worker), for the TypeScript benches.
export interface BuildsWorker {
  /** One request to the Worker: its round trip in ms (timed from outside) and its answer. */
  call(path: string): Promise<{ ms: number; text: string }>;
  /** The median empty round trip in ms, after `skip` unmeasured ones. */
  rtt(samples?: number, skip?: number): Promise<number>;
  dispose(): Promise<void>;
}
export function startBuildsWorker(o: { builds: Record<string, string>; source: string; handler: string }): Promise<BuildsWorker>;
export function median(a: readonly number[]): number;
