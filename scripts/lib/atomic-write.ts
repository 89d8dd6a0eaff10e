// Writes a file through NAME.part and a rename, so a crash or error never leaves a half-written model behind.
import { renameSync, unlinkSync, writeFileSync } from "node:fs";

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const part = `${path}.part`;
  try {
    writeFileSync(part, bytes);
    renameSync(part, path);
  } catch (err) {
    try {
      unlinkSync(part);
    } catch {
      // nothing was written
    }
    throw err;
  }
}
