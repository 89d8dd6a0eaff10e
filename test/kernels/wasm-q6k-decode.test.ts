// Q6_K decode in panel pairs in Node (its V8 lowers the fused dot-adds without VNNI): q6k-decode.case.ts.
import "../../src/backends/wasm/load-node";
import { runQ6kDecodeCases } from "./q6k-decode.case";

runQ6kDecodeCases("node");
