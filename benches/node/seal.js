// iron-session's seal + unseal of the ~1.1 KB payload, timed in a loop with process.hrtime.
// Usage: PAYLOAD_FILE=payload.json node seal.js [ITERATIONS] [ROUNDS]
// Prints one line per round and a final `iron_seal_unseal_ns_median <ns>` line.
import { sealData, unsealData } from "iron-session";
import { payload, sessionOptions } from "./common.js";

const iterations = Number(process.argv[2] || 2000);
const rounds = Number(process.argv[3] || 5);
const { password, ttl } = sessionOptions;

async function once() {
  const sealed = await sealData(payload, { password, ttl });
  const opened = await unsealData(sealed, { password, ttl });
  if (opened.userId !== payload.userId) throw new Error("round trip failed");
  return sealed.length;
}

// Warm-up: let the JIT settle.
for (let i = 0; i < Math.min(500, iterations); i++) await once();

const perOp = [];
for (let r = 0; r < rounds; r++) {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await once();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  const used = process.cpuUsage(cpu);
  const cpuUs = (used.user + used.system) / iterations;
  perOp.push(ns);
  console.log(
    `round ${r + 1}: ${(ns / 1000).toFixed(2)} us per seal+unseal ` +
      `(process CPU, all threads: ${cpuUs.toFixed(2)} us)`,
  );
}
perOp.sort((a, b) => a - b);
console.log(`sealed length ${await once()} chars; payload ${JSON.stringify(payload).length} bytes`);
console.log(`iron_seal_unseal_ns_median ${perOp[Math.floor(perOp.length / 2)].toFixed(0)}`);
