// Backend selection: the one place that maps a backend name (config, CLI flag) to an implementation.
import type { Backend } from "./backend";
import { RefBackend } from "./ref/ref-backend";

/** Backends this build provides; faster ones join this list as they land. */
export const BACKEND_NAMES = ["ref"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Creates the named backend, or explains which names exist. */
export function createBackend(name: string = "ref"): Backend {
  switch (name) {
    case "ref":
      return new RefBackend();
    default:
      throw new Error(`unknown backend "${name}"; available: ${BACKEND_NAMES.join(", ")}`);
  }
}
