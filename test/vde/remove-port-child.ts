// Test helper run as its own process (forwarder.test.ts races two): re-adds a recorded port (so its shard counts are cached, as a boot's are), says ready, waits for the go file, then removes the port.
import { existsSync, writeFileSync } from "node:fs";
import { addForwarderPort, removeForwarderPort } from "../../src/system/vde/forwarder-control";
import { readPortRecord } from "../../src/system/vde/forwarder-records";

const [runDir, benito, id, go] = process.argv.slice(2);
if (runDir === undefined || benito === undefined || id === undefined || go === undefined) throw new Error("usage: remove-port-child.ts RUN_DIR BENITO PORT_ID GO_FILE");
const record = readPortRecord(runDir, id);
if (record === undefined) throw new Error(`no record for port ${id}`);
await addForwarderPort(runDir, benito, record);
writeFileSync(`${go}.${id}.ready`, "");
while (!existsSync(go)) await Bun.sleep(5);
await removeForwarderPort(runDir, benito, id);
