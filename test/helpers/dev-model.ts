// E2e set-up for the fault tests: `wrangler dev` serving a model file written to a temp dir, the session calls, and a kill mid-stream.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDevServer, type DevServer } from "../../scripts/lib/dev-server";
import { getJson, postJson, streamGenerate, type StreamResult } from "../../scripts/lib/loadtest-sse";

/** GET /v1/sessions/:id, as the fault tests read it. */
export interface SessionInfo {
  id: string;
  token_count: number;
  evaluated_tokens: number;
  text: string;
  generating: boolean;
  storage: { kv_bytes: number; kv_pages: number; stored_bytes: number; state_bytes: number };
}

/** POST /v1/sessions/:id/generate, as the fault tests read it. */
export interface Generation {
  tokens: number[];
  finish_reason: string;
  usage: { input_tokens: number };
  /** Sharded models only: the request's shard catch-ups and part loads (docs/api.md). */
  shards?: { catch_ups: number; replayed_tokens: number; loads: number; load_ms: number };
}

/**
 * Writes `bytes` as `name` into a fresh temp dir (named from `prefix`) and starts `wrangler dev` with that file
 * uploaded and `vars` set; the server's dispose() also removes the temp dir.
 */
export async function startDevWithModel(prefix: string, name: string, bytes: Uint8Array, vars: Record<string, string>): Promise<DevServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let dev: DevServer;
  try {
    writeFileSync(join(dir, name), bytes);
    dev = await startDevServer({ models: [join(dir, name)], vars });
  } catch (e) {
    removeDir();
    throw e;
  }
  const dispose = dev.dispose;
  return Object.assign(dev, {
    dispose: async () => {
      await dispose();
      removeDir();
    },
  });
}

/** The session calls against a started server: create (with `sampling`, expecting 201), info, and generate. */
export function sessionCalls(dev: () => DevServer, sampling: Record<string, unknown>) {
  return {
    create: () => postJson<SessionInfo>(`${dev().url}/v1/sessions`, sampling, 201),
    info: (id: string) => getJson<SessionInfo>(`${dev().url}/v1/sessions/${id}`),
    generate: (id: string, body: Record<string, unknown>) => postJson<Generation>(`${dev().url}/v1/sessions/${id}/generate`, body),
  };
}

/** Streams a generation and SIGKILLs the server when the `killAfter`-th token frame arrives; resolves once it is dead. */
export async function killMidStream(dev: DevServer, sessionId: string, body: Record<string, unknown>, killAfter: number): Promise<StreamResult> {
  let killing: Promise<void> | null = null;
  const streamed = await streamGenerate(dev.url, sessionId, body, {
    onToken: (n) => {
      if (n === killAfter && !killing) killing = dev.kill();
    },
  });
  await killing;
  return streamed;
}
