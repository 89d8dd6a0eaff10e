// Errors the engine raises for models it cannot run and requests it cannot serve.

/** The model file is not a LLaMA model this engine can run (missing or invalid metadata, wrong tensor shapes). */
export class ModelError extends Error {
  override readonly name = "ModelError";
}

/** A request the engine cannot serve as asked (prompt over the context, bad token ids, busy context). */
export class EngineError extends Error {
  override readonly name = "EngineError";
  constructor(
    message: string,
    /** Machine-readable reason, e.g. "context_length_exceeded". */
    readonly code: string,
  ) {
    super(message);
  }
}
