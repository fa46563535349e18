// Express 4 + iron-session 8: the same routes as `benches/server/src/main.rs` in `session` mode.
// Usage: PAYLOAD_FILE=payload.json node server.js PORT   (listens on 127.0.0.1 only)
import express from "express";
import { getIronSession } from "iron-session";
import { payload, sessionOptions } from "./common.js";

const port = Number(process.argv[2] || process.env.BENCH_PORT || 3000);
const app = express();

app.get("/hello", (req, res) => {
  res.send("hello");
});

// Writes the Wristband-shaped session (gives the bench cookie).
app.get("/seed", async (req, res) => {
  const session = await getIronSession(req, res, sessionOptions);
  Object.assign(session, payload);
  await session.save();
  res.send("seeded");
});

// Read-only use: unseal, write nothing.
app.get("/read", async (req, res) => {
  const session = await getIronSession(req, res, sessionOptions);
  if (session.isAuthenticated !== true) return res.sendStatus(401);
  res.send(session.userId);
});

// Read + write: unseal, increment a counter, seal again.
app.get("/write", async (req, res) => {
  const session = await getIronSession(req, res, sessionOptions);
  if (session.isAuthenticated !== true) return res.sendStatus(401);
  session.counter = (session.counter || 0) + 1;
  await session.save();
  res.send(String(session.counter));
});

app.listen(port, "127.0.0.1");
