// A session as the session object reports it over RPC: its settings, contents and storage, and the snapshot a fork copies.
import type { FinishReason } from "../engine/generate";
import type { SamplerConfig } from "./sampler-params";

/** Settings a session is created with; sampling settings change when a request passes new ones. */
export interface SessionSettings {
  readonly nCtx: number;
  readonly sampler: SamplerConfig;
  /** How the KV cache stores K and V, fixed at creation (KV_CACHE_TYPE); absent in sessions stored before it: f32. */
  readonly kvType?: "f32" | "f16" | "q8_0";
}

/** What a new session asks for: unset fields take the deployment's defaults (N_CTX, the sampler's). */
export interface CreateSessionInput {
  readonly nCtx?: number;
  readonly sampler?: Partial<SamplerConfig>;
}

export interface SessionInfo {
  readonly createdAt: number;
  /** Tokens in the session (evaluated and pending). */
  readonly tokenCount: number;
  /** Tokens whose K/V are in the cache (and in the stored pages). */
  readonly evaluated: number;
  readonly text: string;
  readonly settings: SessionSettings;
  readonly storage: StorageInfo;
  readonly generating: boolean;
  readonly lastFinishReason: FinishReason | null;
}

export interface StorageInfo {
  /** KV page rows and their total size: evaluated × bytesPerPosition. */
  readonly kvPages: number;
  readonly kvBytes: number;
  readonly bytesPerPosition: number;
  readonly positionsPerPage: number;
  /** Token log and settings rows. */
  readonly stateBytes: number;
  /** kvBytes + stateBytes: what the session stores. */
  readonly storedBytes: number;
  /** Size of the object's SQLite database file (pages, indexes and free space included). */
  readonly databaseBytes: number;
}

/** A session's state for fork: everything but the KV pages, which follow one RPC each (≤ 1 MiB per call). */
export interface SessionSnapshot {
  readonly settings: SessionSettings;
  readonly samplerState: string;
  readonly tokens: readonly number[];
  readonly evaluated: number;
  readonly perPage: number;
  readonly pageCount: number;
}
