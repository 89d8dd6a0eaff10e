// Minimal command-line flag parsing for the project's scripts: --name value, --flag, and clear errors for unknown flags.

export type FlagSpec = Record<string, "string" | "number" | "boolean">;
export type Flags<S extends FlagSpec> = {
  [K in keyof S]?: S[K] extends "number" ? number : S[K] extends "boolean" ? boolean : string;
};

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Parses argv against a spec; positional arguments are returned separately. */
export function parseFlags<S extends FlagSpec>(argv: readonly string[], spec: S): { flags: Flags<S>; positional: string[] } {
  const flags: Record<string, unknown> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}; known: ${Object.keys(spec).map((k) => `--${k}`).join(", ")}`);
    if (kind === "boolean") {
      flags[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === "number") {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
      flags[name] = n;
    } else {
      flags[name] = value;
    }
  }
  return { flags: flags as Flags<S>, positional };
}
