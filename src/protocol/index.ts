// The contract between the Worker and the session objects: what src/api and src/ai may import (with ../env), and nothing of src/session.
export * from "./errors";
export * from "./result";
export * from "./session";
export * from "./generate";
export * from "./sampler-params";
export type { SessionRpc } from "./session-rpc";
export { modelCard, modelTokenizer, resolvedBackend, type ModelCard, type ModelMemory } from "./model-card";
