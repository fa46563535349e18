// What the Node baselines share with the Rocket bench server: the session payload (the exact
// JSON `bench_server payload` prints, read from the file PAYLOAD_FILE names) and the options.
import { readFileSync } from "node:fs";

const file = process.env.PAYLOAD_FILE;
if (!file) {
  throw new Error("set PAYLOAD_FILE to the output of `bench_server payload`");
}

/** The ~1.1 KB Wristband-shaped session, as the Rust side seals it. */
export const payload = JSON.parse(readFileSync(file, "utf8"));

/** iron-session options: a 32+ character password, cookie attributes like the Rust side. */
export const sessionOptions = {
  password: "bench-node-iron-session-password-0123456789abcdef",
  cookieName: "session",
  ttl: 3600,
  cookieOptions: { secure: false, httpOnly: true, sameSite: "lax", path: "/" },
};
