// Load-time checks of a weight tensor for the WASM backend: its format, and errors that name the tensor.
import { ggmlTypeName } from "../../gguf/ggml-types";
import { ModelError } from "../../engine/errors";
import { WASM_FORMATS, type WasmFormat } from "./formats";

/** The format of a weight tensor, if the backend has it and its rows are whole blocks; else a ModelError naming it. */
export function tensorFormat(backend: string, name: string, type: number, cols: number): WasmFormat {
  const format = WASM_FORMATS.get(type);
  if (!format) throw new ModelError(`tensor ${name} has type ${ggmlTypeName(type)}, which the ${backend} backend cannot use`);
  if (cols % format.blockElems !== 0) {
    throw new ModelError(`tensor ${name}: rows of ${cols} are not whole ${ggmlTypeName(type)} blocks of ${format.blockElems}`);
  }
  return format;
}

/** Runs one packing step; a RangeError from it (bad bytes, wrong length) becomes a ModelError naming the tensor. */
export function namingTensor<T>(name: string, type: number, rows: number, cols: number, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof RangeError) throw new ModelError(`tensor ${name} (${ggmlTypeName(type)} ${rows}x${cols}): ${e.message}`);
    throw e;
  }
}
