// Download progress for a terminal or a log: byte sizes, one progress line, and a printer that throttles them.

export interface Progress {
  readonly file: string;
  /** Bytes of the file on disk so far, including any resumed part. */
  readonly received: number;
  /** Size of the whole file; 0 when unknown (no --bytes and the server did not say). */
  readonly total: number;
  /** Bytes that were already on disk when this download started (a resumed .part); not counted in the rate. */
  readonly resumedFrom?: number;
  readonly elapsedMs: number;
}

/** "1.13 MiB"-style sizes. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(2)} ${units[i]}`;
}

/** One progress line: bytes/total, percent and average rate of this session's bytes. */
export function formatProgress(p: Progress): string {
  const fresh = p.received - (p.resumedFrom ?? 0);
  const rate = p.elapsedMs > 0 ? Math.round((fresh * 1000) / p.elapsedMs) : 0;
  if (p.total <= 0) return `${p.file}  ${formatBytes(p.received)}  ${formatBytes(rate)}/s`;
  const pct = (100 * p.received) / p.total;
  return `${p.file}  ${formatBytes(p.received)} / ${formatBytes(p.total)}  ${pct.toFixed(1)}%  ${formatBytes(rate)}/s`;
}

export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A progress callback for a terminal or a log. On a TTY one line is rewritten in place with \r (at most every
 * 100 ms); otherwise a line is printed at each 10% step. `finish()` ends the line.
 */
export function progressPrinter(out: ProgressSink, now: () => number = Date.now): { update: (p: Progress) => void; finish: () => void } {
  let lastAt = -Infinity;
  let lastStep = -1;
  let lastLen = 0;
  let pending = false;
  return {
    update(p) {
      const complete = p.total > 0 && p.received >= p.total;
      if (out.isTTY) {
        const t = now();
        if (!complete && t - lastAt < 100) return;
        lastAt = t;
        const line = formatProgress(p);
        out.write(`\r${line.padEnd(lastLen)}`);
        lastLen = line.length;
        pending = true;
      } else {
        // Unknown total: a line per 10 MiB instead of per 10%.
        const step = p.total > 0 ? Math.floor((10 * p.received) / p.total) : Math.floor(p.received / (10 * 2 ** 20));
        if (step === lastStep) return;
        lastStep = step;
        out.write(`${formatProgress(p)}\n`);
      }
    },
    finish() {
      if (pending) out.write("\n");
      pending = false;
    },
  };
}
