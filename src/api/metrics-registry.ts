// A tiny Prometheus registry: counters, gauges and fixed-bucket histograms with labels, rendered in the text exposition format 0.0.4.

type Labels = Readonly<Record<string, string>>;

/** Label values escaped as the format requires: backslash, double quote and line feed. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and line feed only. */
const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** Prometheus' float text: +Inf, -Inf and NaN by name. */
export function formatValue(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return Number.isNaN(v) ? "NaN" : String(v);
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/** One metric family: a name, its HELP and TYPE, and one series per label set (kept in first-seen order). */
abstract class Family<S> {
  protected readonly series = new Map<string, { labels: Labels; value: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new RangeError(`invalid metric name ${name}`);
  }

  protected abstract fresh(): S;

  protected at(labels: Labels): S {
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: { ...labels }, value: this.fresh() }));
    return s.value;
  }

  protected abstract lines(labels: Labels, value: S): string[];

  render(): string {
    const head = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    // A family without labels shows its zero before anything happened (a counter that stays 0 is still scraped).
    if (this.series.size === 0 && this.type !== "histogram") return [...head, `${this.name} 0`].join("\n");
    if (this.series.size === 0) this.at({});
    return [...head, ...[...this.series.values()].flatMap((s) => this.lines(s.labels, s.value))].join("\n");
  }
}

export class Counter extends Family<{ v: number }> {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  protected fresh() {
    return { v: 0 };
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`a counter only goes up, got ${by}`);
    this.at(labels).v += by;
  }
  get(labels: Labels = {}): number {
    return this.at(labels).v;
  }
  /** A total kept elsewhere (a Durable Object's durable counter), shown as read at scrape time. */
  set(value: number, labels: Labels = {}): void {
    if (!(value >= 0)) throw new RangeError(`a counter total is never negative, got ${value}`);
    this.at(labels).v = value;
  }
  protected lines(labels: Labels, s: { v: number }) {
    return [`${this.name}${labelText(labels)} ${formatValue(s.v)}`];
  }
}

export class Gauge extends Family<{ v: number }> {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  protected fresh() {
    return { v: 0 };
  }
  set(value: number, labels: Labels = {}): void {
    this.at(labels).v = value;
  }
  protected lines(labels: Labels, s: { v: number }) {
    return [`${this.name}${labelText(labels)} ${formatValue(s.v)}`];
  }
}

interface HistogramSeries {
  /** Observations per bucket (not cumulative; rendering sums them), the last one past every bound. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Family<HistogramSeries> {
  readonly buckets: readonly number[];
  constructor(name: string, help: string, buckets: readonly number[]) {
    super(name, help, "histogram");
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) throw new RangeError("histogram buckets must be finite and increasing");
    this.buckets = [...buckets];
  }
  protected fresh(): HistogramSeries {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
  observe(value: number, labels: Labels = {}): void {
    const s = this.at(labels);
    const i = this.buckets.findIndex((b) => value <= b);
    s.counts[i < 0 ? this.buckets.length : i]!++;
    s.sum += value;
    s.count++;
  }
  protected lines(labels: Labels, s: HistogramSeries) {
    let cumulative = 0;
    const bounds = [...this.buckets, Infinity];
    const out = bounds.map((le, i) => {
      cumulative += s.counts[i]!;
      return `${this.name}_bucket${labelText({ ...labels, le: formatValue(le) })} ${cumulative}`;
    });
    return [...out, `${this.name}_sum${labelText(labels)} ${formatValue(s.sum)}`, `${this.name}_count${labelText(labels)} ${s.count}`];
  }
}

export class Registry {
  private readonly families: { readonly name: string; render(): string }[] = [];
  private add<F extends { readonly name: string; render(): string }>(f: F): F {
    if (this.families.some((x) => x.name === f.name)) throw new RangeError(`metric ${f.name} is registered twice`);
    this.families.push(f);
    return f;
  }
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  /** The text exposition format 0.0.4: every family, HELP and TYPE first, a final line feed. */
  render(): string {
    return this.families.map((f) => f.render()).join("\n") + "\n";
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
