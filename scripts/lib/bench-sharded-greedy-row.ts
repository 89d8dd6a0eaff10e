// `npx tsx scripts/lib/bench-sharded-greedy-row.ts`: the session's work per greedy token in Node (the greedy row and the sampler's pass), a row over the whole vocabulary against one that ends at the pick.
import { Sampler } from "../../src/engine/sampler";
import { greedyRow, type BestLogit } from "../../src/shard/greedy";

/** A row over the whole vocabulary holding only the pick (the form before rows ended at the pick). */
function wholeRow(best: BestLogit, into: Float32Array): Float32Array {
  into.fill(-Infinity);
  into[best.token] = best.logit;
  return into;
}

const TOKENS = 2000;
let seed = 1;
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
for (const vocab of [50257, 128256]) {
  // Picks spread evenly over the ids (a real model's picks lean to low ids, where a row ending at the pick is shorter).
  const picks = Array.from({ length: TOKENS }, () => Math.floor(rnd() * vocab));
  const into = new Float32Array(vocab);
  const time = (row: (best: BestLogit) => Float32Array) => {
    const sampler = new Sampler({ temperature: 0 });
    for (const t of picks.slice(0, 200)) sampler.sample(row({ token: t, logit: 1 }));
    const t0 = performance.now();
    for (const t of picks) if (sampler.sample(row({ token: t, logit: 1 })) !== t) throw new Error(`the sampler did not pick ${t}`);
    return (performance.now() - t0) / TOKENS;
  };
  // Alternated rounds, so both forms see the same machine load.
  const whole: number[] = [];
  const ending: number[] = [];
  for (let r = 0; r < 3; r++) {
    whole.push(time((b) => wholeRow(b, into)));
    ending.push(time((b) => greedyRow(vocab, b, into)));
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[1]!;
  console.log(`vocabulary ${vocab}: greedy row + sampler per token, whole row ${median(whole).toFixed(3)} ms, row ending at the pick ${median(ending).toFixed(3)} ms (medians of 3 alternated rounds of ${TOKENS})`);
}
