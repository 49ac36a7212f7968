// Test helper run as its own process (forwarder-shards.test.ts runs it pinned to one CPU): adds a port as a boot or vm launch would (no shard named).
import { addForwarderPort } from "../../src/system/vde/forwarder-control";

const [runDir, benito, id, netns, tap, switchDir] = process.argv.slice(2);
if (runDir === undefined || benito === undefined || id === undefined || netns === undefined || tap === undefined || switchDir === undefined) {
  throw new Error("usage: add-port-child.ts RUN_DIR BENITO PORT_ID NETNS TAP SWITCH_DIR");
}
await addForwarderPort(runDir, benito, { version: 1, kind: "forwarder-port", id, netns, tap, switchDir, port: 0, reconnect: true });
