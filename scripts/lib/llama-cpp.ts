// llama.cpp as an oracle and a speed yardstick: raw per-position logits, greedy continuations and pp/tg timings from the
// prebuilt CPU library of npm node-llama-cpp@3.21.1 (llama.cpp v0.4.0), driven through its C API with koffi.
//
// Why the C API and not node-llama-cpp's own classes: those give sampled tokens and probabilities, never the raw
// logits of every position, and they run flash attention "auto" with an F16 KV cache. Here every context has an F32
// KV cache, flash attention off, one sequence and (by default) one thread: llama.cpp's plain F32 attention, the
// `kvF32` setting of models/oracle/README.md. Nothing is compiled or downloaded.
import { join } from "node:path";
import {
  bindLlama,
  cpuVariants,
  FLASH_ATTN_AUTO,
  FLASH_ATTN_DISABLED,
  FLASH_ATTN_ENABLED,
  GGML_TYPE_F16,
  GGML_TYPE_F32,
  GGML_TYPE_Q8_0,
  llamaLibDir,
  type ContextParamsValue,
  type LlamaFfi,
} from "./llama-cpp-ffi";
import { threadCpuMs } from "./thread-cpu";

export interface LlamaCppOptions {
  /** Context length (default 512). */
  nCtx?: number;
  /** ggml threads for decode and batch (default 1: 1 and 2 threads give bit-identical logits, 1 is the fair baseline). */
  threads?: number;
  /** KV cache type of K and V (llama.cpp's --cache-type-k/v); default f32, the oracles' setting. llama.cpp's own default is f16. */
  kvType?: "f32" | "f16" | "q8_0";
  /** Flash attention; default "off" (the oracles' setting). llama.cpp's own default is "auto". */
  flashAttention?: "off" | "auto" | "on";
}

const KV_TYPES = { f32: GGML_TYPE_F32, f16: GGML_TYPE_F16, q8_0: GGML_TYPE_Q8_0 } as const;
const FLASH_ATTN = { off: FLASH_ATTN_DISABLED, auto: FLASH_ATTN_AUTO, on: FLASH_ATTN_ENABLED } as const;

/** What one process has loaded; ggml's CPU backend can be loaded once, so the variant is fixed per process. */
interface Runtime {
  ffi: LlamaFfi;
  cpuVariant: string;
}
let runtime: Runtime | undefined;

/**
 * Loads the library and one ggml CPU variant, once per process. `variant` names one of the shipped
 * libggml-cpu-<name>.so (e.g. "haswell" for AVX2, "zen4" or "icelake" for AVX-512); the default, or
 * $EDGE_LLAMA_CPU_VARIANT, is what ggml itself would pick: the highest ggml_backend_score on this CPU.
 * Different variants run different SIMD kernels (summation order), so oracles record which one made them.
 */
export function initLlamaCpp(variant = process.env.EDGE_LLAMA_CPU_VARIANT): Runtime {
  if (runtime) {
    if (variant && variant !== runtime.cpuVariant) throw new Error(`llama.cpp already runs CPU variant ${runtime.cpuVariant} in this process; ${variant} needs a new process`);
    return runtime;
  }
  const dir = llamaLibDir();
  const ffi = bindLlama(dir);
  if (!process.env.EDGE_LLAMA_CPP_LOG) ffi.silenceLogs();
  const variants = cpuVariants(dir);
  let chosen = variant;
  if (!chosen) {
    let best = 0;
    for (const v of variants) {
      const score = ffi.variantScore(join(dir, `libggml-cpu-${v}.so`));
      if (score > best) [best, chosen] = [score, v];
    }
  }
  if (!chosen || !variants.includes(chosen)) throw new Error(`unknown or unusable ggml CPU variant "${chosen}"; shipped: ${variants.join(", ")}`);
  if (!ffi.ggml_backend_load(join(dir, `libggml-cpu-${chosen}.so`))) throw new Error(`ggml could not load CPU variant ${chosen} on this CPU`);
  ffi.llama_backend_init();
  runtime = { ffi, cpuVariant: chosen };
  return runtime;
}

export interface Timing {
  /** Prompt processing: tokens per second for `pp` tokens in one llama_decode (median of reps). */
  ppTokPerS: number;
  /** Generation: tokens per second for `tg` one-token llama_decode calls after a one-token prompt (median of reps). */
  tgTokPerS: number;
  threads: number;
  cpuVariant: string;
}

/** One GGUF loaded in llama.cpp with one F32-KV, no-flash-attention context. Call free() when done. */
export class LlamaCpp {
  readonly nVocab: number;
  readonly bos: number;
  readonly cpuVariant: string;
  readonly threads: number;
  readonly nCtx: number;
  private readonly ffi: LlamaFfi;
  private model: unknown;
  private ctx: unknown;
  private readonly vocab: unknown;

  constructor(path: string, options: LlamaCppOptions = {}) {
    const { ffi, cpuVariant } = initLlamaCpp();
    this.ffi = ffi;
    this.cpuVariant = cpuVariant;
    this.threads = options.threads ?? 1;
    this.nCtx = options.nCtx ?? 512;
    const mp = ffi.llama_model_default_params() as Record<string, unknown>;
    mp.n_gpu_layers = 0;
    this.model = ffi.llama_model_load_from_file(path, mp);
    if (!this.model) throw new Error(`llama.cpp could not load ${path}`);
    this.vocab = ffi.llama_model_get_vocab(this.model);
    this.nVocab = ffi.llama_vocab_n_tokens(this.vocab) as number;
    this.bos = ffi.llama_vocab_bos(this.vocab) as number;
    const cp = ffi.llama_context_default_params() as ContextParamsValue;
    Object.assign(cp, {
      n_ctx: this.nCtx,
      n_batch: this.nCtx,
      n_ubatch: this.nCtx,
      n_seq_max: 1,
      n_threads: this.threads,
      n_threads_batch: this.threads,
      flash_attn_type: FLASH_ATTN[options.flashAttention ?? "off"],
      type_k: KV_TYPES[options.kvType ?? "f32"],
      type_v: KV_TYPES[options.kvType ?? "f32"],
      no_perf: true,
    });
    this.ctx = ffi.llama_init_from_model(this.model, cp);
    if (!this.ctx) throw new Error(`llama.cpp could not create a context for ${path}`);
  }

  /** BOS + llama_tokenize(text, add_special=false, parse_special=false): how every oracle in models/ was prompted. */
  tokenize(text: string): number[] {
    const bytes = Buffer.byteLength(text, "utf8");
    const out = new Int32Array(bytes + 8);
    const n = this.ffi.llama_tokenize(this.vocab, text, bytes, out, out.length, false, false) as number;
    if (n < 0) throw new Error(`llama_tokenize failed (${n})`);
    return [this.bos, ...out.subarray(0, n)];
  }

  /** The text of one token (special tokens rendered). */
  piece(id: number): string {
    const buf = new Uint8Array(64);
    const n = this.ffi.llama_token_to_piece(this.vocab, id, buf, buf.length, 0, true) as number;
    return Buffer.from(buf.subarray(0, Math.max(0, n))).toString("utf8");
  }

  /** Empties the KV cache: the next decode starts at position 0. */
  reset(): void {
    this.ffi.llama_memory_clear(this.ffi.llama_get_memory(this.ctx), true);
  }

  /**
   * Decodes tokens as one batch at the next positions (llama.cpp tracks them); output for the last token only, or
   * for every token with `allOutputs`.
   */
  private decode(tokens: Int32Array, allOutputs = false): void {
    const logits = allOutputs ? new Int8Array(tokens.length).fill(1) : null;
    const rc = this.ffi.llama_decode(this.ctx, { n_tokens: tokens.length, token: tokens, embd: null, pos: null, n_seq_id: null, seq_id: null, logits }) as number;
    if (rc !== 0) throw new Error(`llama_decode returned ${rc}`);
  }

  /** Raw float32 logits of output i of the last decode (-1: the last one), a copy. */
  private lastLogits(i = -1): Float32Array {
    const ptr = this.ffi.llama_get_logits_ith(this.ctx, i);
    if (!ptr) throw new Error("llama.cpp returned no logits");
    return Float32Array.from(this.ffi.decodePointer(ptr, "float", this.nVocab) as number[]);
  }

  /**
   * Teacher-forced: from an empty cache, decodes `tokens` one per llama_decode and returns the raw logits after each
   * (row p predicts token p+1). One token per decode keeps every row independent of batch shape.
   */
  teacherForced(tokens: readonly number[]): Float32Array[] {
    if (tokens.length > this.nCtx) throw new Error(`${tokens.length} tokens exceed the context of ${this.nCtx}`);
    this.reset();
    return tokens.map((t) => {
      this.decode(Int32Array.of(t));
      return this.lastLogits();
    });
  }

  /**
   * The whole sequence in one llama_decode with output at every position (how the models/oracle `*.logits.json`
   * were made). A batch takes other kernel paths than single tokens (matrix-matrix products, other activation
   * conversions), so its rows can differ from teacherForced's by a rounding step.
   */
  oneBatch(tokens: readonly number[]): Float32Array[] {
    this.reset();
    this.decode(Int32Array.from(tokens), true);
    return tokens.map((_, i) => this.lastLogits(i));
  }

  /**
   * llama.cpp's greedy continuation: the prompt one token per decode, then `steps` times the argmax (lowest id on a
   * tie) fed back one token per decode. Returns the generated ids and the logits of every position of prompt +
   * continuation (the last generated token is decoded too), which is the teacher-forced run of that sequence.
   */
  greedy(promptIds: readonly number[], steps: number): { generated: number[]; logits: Float32Array[] } {
    if (promptIds.length + steps > this.nCtx) throw new Error(`${promptIds.length} + ${steps} tokens exceed the context of ${this.nCtx}`);
    const logits = this.teacherForced(promptIds);
    const generated: number[] = [];
    for (let s = 0; s < steps; s++) {
      const next = argmax(logits[logits.length - 1]!);
      generated.push(next);
      this.decode(Int32Array.of(next));
      logits.push(this.lastLogits());
    }
    return { generated, logits };
  }

  /** llama-bench style speed: pp tokens in one decode, then tg single-token decodes; median tokens/s of `reps` runs. */
  timing(opts: { pp?: number; tg?: number; reps?: number } = {}): Timing {
    const reps = opts.reps ?? 5;
    const runs = Array.from({ length: reps + 1 }, () => this.measureOnce(opts)).slice(1); // the first is a warm-up
    return { ppTokPerS: median(runs.map((r) => r.pp)), tgTokPerS: median(runs.map((r) => r.tg)), threads: this.threads, cpuVariant: this.cpuVariant };
  }

  /**
   * One timed run (tokens/s): `pp` tokens (default 128) in one decode from an empty cache, then `tg` (default 64)
   * single-token decodes at the next positions (pp..pp + tg − 1), as the bench times our engine: a prompt, then its
   * continuation, so both attend over the same cache lengths (llama-bench's tg decodes from an empty cache instead,
   * positions 1..tg, which costs less attention per token). Callers alternate it with other engines' runs in one sitting.
   */
  measureOnce(opts: { pp?: number; tg?: number } = {}): { pp: number; tg: number; ppCpuMs: number; tgCpuMs: number } {
    const pp = opts.pp ?? 128;
    const tg = opts.tg ?? 64;
    if (pp < 1 || pp + tg > this.nCtx) throw new Error(`pp ${pp} + tg ${tg} exceed the context of ${this.nCtx}`);
    const tokens = Int32Array.from({ length: pp }, (_, i) => (i === 0 ? this.bos : 3 + ((i * 7919) % (this.nVocab - 3))));
    this.reset();
    // With one thread ggml computes on the calling thread, so its CPU time is llama.cpp's (ppCpuMs, tgCpuMs).
    let c0 = threadCpuMs();
    let t0 = performance.now();
    this.decode(tokens);
    this.ffi.llama_synchronize(this.ctx);
    const ppMs = performance.now() - t0;
    const ppCpuMs = threadCpuMs() - c0;
    c0 = threadCpuMs();
    t0 = performance.now();
    for (let i = 0; i < tg; i++) this.decode(Int32Array.of(tokens[1 + (i % Math.max(1, pp - 1))] ?? 3));
    this.ffi.llama_synchronize(this.ctx);
    const tgMs = performance.now() - t0;
    return { pp: (pp * 1000) / ppMs, tg: (tg * 1000) / tgMs, ppCpuMs, tgCpuMs: threadCpuMs() - c0 };
  }

  free(): void {
    if (this.ctx) this.ffi.llama_free(this.ctx);
    if (this.model) this.ffi.llama_model_free(this.model);
    this.ctx = this.model = undefined;
  }
}

/** Index of the largest value; the lowest index wins a tie (llama.cpp's greedy sampler keeps the first maximum). */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
