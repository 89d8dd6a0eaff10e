// Q6_K decode in panel pairs inside workerd, whose engine fuses the i32 dot-adds (test/kernels/q6k-decode.case.ts).
import "../../src/backends/wasm/load-workers";
import { runQ6kDecodeCases } from "../kernels/q6k-decode.case";

runQ6kDecodeCases("workerd");
