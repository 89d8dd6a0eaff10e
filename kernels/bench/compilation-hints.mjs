// Writes a copy of a kernel build with a metadata.code.compilation_priority section (V8's compilation-hints format:
// priority 0 and optimization priority 0, i.e. compile with the optimizing tier up front) for every exported matmul_ and
// quantize_ function, before the code section; for kernels/bench/tier-up.ts (WASM=the copy).
// usage: node kernels/bench/compilation-hints.mjs build/kernels/relaxed.wasm /tmp/hinted-relaxed.wasm
import { readFileSync, writeFileSync } from "node:fs";
const b = readFileSync(process.argv[2]);
const leb = (n) => { const o = []; do { let x = n & 0x7f; n >>>= 7; if (n) x |= 0x80; o.push(x); } while (n); return o; };
// find export func indices by parsing the export section
let p = 8, secs = [];
const rd = () => { let r = 0, s = 0, x; do { x = b[p++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
while (p < b.length) { const id = b[p++]; const len = rd(); secs.push({ id, start: p, len, hdr: 0 }); p += len; }
const exp = secs.find((s) => s.id === 7); p = exp.start; const n = rd(); const funcs = [];
for (let i = 0; i < n; i++) { const l = rd(); const name = b.subarray(p, p + l).toString(); p += l; const kind = b[p++]; const idx = rd(); if (kind === 0 && /^(matmul_|quantize_)/.test(name)) funcs.push(idx); }
funcs.sort((a, c) => a - c);
const name = Buffer.from("metadata.code.compilation_priority");
const data = [...leb(funcs.length), ...funcs.flatMap((f) => [...leb(f), 0, 2, 0, 0])];
const payload = [...leb(name.length), ...name, ...data];
const sec = Buffer.from([0, ...leb(payload.length), ...payload]);
// insert before code section (id 10): find its header offset
p = 8; let at = -1;
while (p < b.length) { const s0 = p; const id = b[p++]; const len = rd(); if (id === 10) { at = s0; break; } p += len; }
const out = Buffer.concat([b.subarray(0, at), sec, b.subarray(at)]);
new WebAssembly.Module(out);
writeFileSync(process.argv[3], out);
console.log("hinted", funcs.length, "functions:", funcs.join(","));
