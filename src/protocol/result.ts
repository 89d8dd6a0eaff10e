// The result of every session RPC: a value, or an ErrorBody returned as data (RPC would drop a thrown error's details).
import type { ErrorBody } from "./errors";

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorBody };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (error: ErrorBody): Result<never> => ({ ok: false, error });
