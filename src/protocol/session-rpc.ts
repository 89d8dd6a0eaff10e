// The session object's RPC surface: the methods a stub of SESSIONS offers the Worker (and one session forking into another).
import type { GenerateRequest, GenerateStart } from "./generate";
import type { Result } from "./result";
import type { CreateSessionInput, SessionInfo, SessionSnapshot } from "./session";

/**
 * LlamaSession implements this; Env types the namespace with it. Anything else the class has (its ContextOwner
 * side, test hooks) is kept off the prototype's string-named methods, so RPC cannot reach it.
 */
export interface SessionRpc extends Rpc.DurableObjectBranded {
  /** Creates the session (409 session_exists when it already exists). */
  create(input: CreateSessionInput): Promise<Result<SessionInfo>>;
  info(): Promise<Result<SessionInfo>>;
  /**
   * Appends the request's input and starts decoding. Refusals come back before any event; the events stream token
   * by token, pulled by the reader, and cancelling the stream stops the generation.
   */
  generate(req: GenerateRequest): Promise<Result<GenerateStart>>;
  /** Truncates the session to `n` tokens. */
  rewind(n: number): Promise<Result<SessionInfo>>;
  /** Copies this session into the new, empty session `targetId`. */
  forkTo(targetId: string): Promise<Result<SessionInfo>>;
  /** Fork's first half, called by the source session on the target: one KV page. */
  importPage(index: number, data: Uint8Array): Promise<void>;
  /** Fork's second half: the state row, after every page. */
  importState(snapshot: SessionSnapshot): Promise<Result<SessionInfo>>;
  /** Deletes everything the session stores. */
  destroy(): Promise<Result<{ deleted: true }>>;
}
