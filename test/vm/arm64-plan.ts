// Prints (JSON) the qemu platform's launch plan and requirements for one VM as an arm64 pnode makes them; run in its own process.
// The emulator default is chosen from process.arch when src/platforms/qemu/cpu.ts loads, so this
// process says it is arm64 before importing the platform (a test process has loaded it already as x86-64).
// Usage: bun test/vm/arm64-plan.ts '{"runDir":…,"configDir":…,"name":…,"attributes":{…},"vdeSwitch":…,"mac":…}'
import * as v from "valibot";

const Input = v.object({
  runDir: v.string(),
  configDir: v.string(),
  name: v.string(),
  attributes: v.record(v.string(), v.string()),
  vdeSwitch: v.string(),
  mac: v.string(),
});
const input = v.parse(Input, JSON.parse(process.argv[2] ?? "{}"));
Object.defineProperty(process, "arch", { value: "arm64" });
const { validatedPlatform } = await import("../../src/platforms/planning");
const { hostQemuTarget } = await import("../../src/platforms/qemu/cpu");
const { node } = await import("../platforms/nodes");
const vm = node(input.name, "qemu", input.attributes, [
  { name: "inf000", substrate: "lan0", control: false, ip4: { address: "10.0.0.2", prefixLength: 24 }, mac: input.mac, vdeSwitch: input.vdeSwitch, vdePort: 1 },
]);
const platform = validatedPlatform(vm);
const plan = platform.plan(vm, { runDir: input.runDir, configDir: input.configDir, benito: "/usr/local/sbin/benito", kvm: false, routeHosts: new Set() });
console.log(JSON.stringify({ hostQemuTarget, steps: plan.steps, requirements: platform.nodeRequirements?.(vm) ?? [] }));
