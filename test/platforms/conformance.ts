// The shared conformance suite every registered platform is held to: well-formed, deterministic, invertible, shell-free plans.
import { describe, expect, test } from "bun:test";
import { basename } from "node:path";
import type { Node } from "../../src/model/node";
import { nodeProblems, type Platform, type PlatformContext } from "../../src/platforms/platform";
import { renderStep, type Step } from "../../src/plan/step";
import { stepSchema } from "../../src/plan/step-schema";
import * as v from "valibot";

/** Programs that are shells: no step may run one (and none may pass "-c"). */
const shells = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox"]);

/** What a step creates, as a key its inverse names too; undefined for steps that create nothing. */
function created(step: Step): string | undefined {
  switch (step.kind) {
    case "netns.create":
      return `netns:${step.name}`;
    case "tap.create":
      return `tap:${step.placement?.netns ?? ""}:${step.name}`;
    case "dir.create":
      return `dir:${step.path}`;
    case "file.write":
    case "disk.overlay":
    case "config.disk":
      return `file:${step.path}`;
    case "process.start":
      return `process:${step.pidfile}`;
    case "bridge.create":
      return `bridge:${step.name}`;
    case "kernel.tap":
    case "kernel.veth":
      return `link:${step.name}`;
    case "kernel.shape":
      return `link:${step.ifb}`;
    default:
      return undefined;
  }
}

/** What a teardown step removes, as the same key. */
function removed(step: Step): string | undefined {
  switch (step.kind) {
    case "netns.delete":
      return `netns:${step.name}`;
    case "tap.delete":
      return `tap:${step.placement?.netns ?? ""}:${step.name}`;
    case "dir.delete":
      return `dir:${step.path}`;
    case "file.delete":
      return `file:${step.path}`;
    case "process.stop":
    case "vm.powerdown":
      return `process:${step.pidfile}`;
    case "bridge.delete":
      return `bridge:${step.name}`;
    case "link.delete":
      return `link:${step.name}`;
    default:
      return undefined;
  }
}

/** Every interface name a step gives the kernel. */
function interfaceNames(step: Step): string[] {
  if (step.kind === "bridge.create") return [step.name, ...step.members];
  if (step.kind === "kernel.tap") return [step.name, step.bridge];
  if (step.kind === "kernel.veth") return [step.name, step.peer, step.bridge];
  if (step.kind === "kernel.shape") return [step.port, step.ifb];
  if (step.kind === "link.delete") return [step.name];
  return step.kind === "tap.create" || step.kind === "tap.delete" || step.kind === "bridge.delete" ? [step.name] : [];
}

/** Every argv a step would run. */
function argvs(step: Step): (readonly string[])[] {
  return step.kind === "process.start" || step.kind === "command.run" ? [step.argv] : [];
}

/** Every path a step writes or removes. */
function paths(step: Step): string[] {
  switch (step.kind) {
    case "dir.create":
    case "dir.delete":
    case "file.write":
    case "file.delete":
    case "disk.overlay":
    case "config.disk":
      return [step.path];
    case "process.start":
      return [step.pidfile, ...(step.log === undefined ? [] : [step.log])];
    default:
      return [];
  }
}

/**
 * Runs the conformance suite against one platform.
 *
 * @param platform The platform under test.
 * @param samples Well-formed nodes of that platform (at least one).
 * @param ctx The context plans are computed with (its runDir must be absolute).
 * @param label Tells this run apart (e.g. "on kernel LANs") when a platform is checked in several contexts.
 */
export function conformance(platform: Platform, samples: readonly Node[], ctx: PlatformContext, label = ""): void {
  describe(`platform ${platform.names[0]} conforms${label === "" ? "" : ` ${label}`}`, () => {
    test("declares names, a summary, a schema and host requirements", () => {
      expect(platform.names.length).toBeGreaterThan(0);
      for (const name of platform.names) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(platform.summary.length).toBeGreaterThan(10);
      for (const requirement of platform.requirements) {
        expect(requirement.why.length).toBeGreaterThan(0);
        if (requirement.kind === "device") expect(requirement.path.startsWith("/dev/")).toBe(true);
        else expect(requirement.name).not.toContain("/");
      }
      expect(samples.length).toBeGreaterThan(0);
    });

    for (const node of samples) {
      describe(`node ${node.name}`, () => {
        test("the sample is valid for its platform", () => {
          expect(nodeProblems(platform, node)).toEqual([]);
        });

        test("plans are deterministic and well-formed", () => {
          const first = platform.plan(node, ctx);
          expect(platform.plan(node, ctx)).toEqual(first);
          expect(platform.stop(node, ctx)).toEqual(platform.stop(node, ctx));
          expect(platform.status(node, ctx)).toEqual(platform.status(node, ctx));
          for (const plan of [first, platform.stop(node, ctx)]) {
            expect(plan.title.length).toBeGreaterThan(0);
            const ids = plan.steps.map((step) => step.id);
            expect(new Set(ids).size).toBe(ids.length);
            for (const step of plan.steps) expect(renderStep(step).length).toBeGreaterThan(0);
            // Plain data: a JSON round trip changes nothing.
            expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
          }
        });

        test("the teardown the ledger records reads back whole (its step schema keeps every field)", () => {
          const teardown = platform.stop(node, ctx).steps;
          expect(v.parse(v.array(stepSchema), teardown)).toEqual([...teardown]);
        });

        test("teardown inverts setup, in reverse order", () => {
          const made = platform.plan(node, ctx).steps.map(created).filter((key) => key !== undefined);
          const undone = platform.stop(node, ctx).steps.map(removed).filter((key) => key !== undefined);
          for (const key of made) expect(undone).toContain(key);
          const order = made.filter((key) => undone.includes(key)).map((key) => undone.indexOf(key));
          expect(order).toEqual([...order].sort((a, b) => b - a));
        });

        test("names fit the kernel's limits and paths stay under the run folder", () => {
          const steps = [...platform.plan(node, ctx).steps, ...platform.stop(node, ctx).steps];
          for (const step of steps) {
            for (const name of interfaceNames(step)) {
              expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(15);
              expect(name).toMatch(/^[A-Za-z0-9_.-]+$/);
            }
            if (step.kind === "netns.create" || step.kind === "netns.delete") expect(step.name).toMatch(/^[A-Za-z0-9_-]{1,15}$/);
            for (const path of paths(step)) {
              expect(path.startsWith(`${ctx.runDir}/`)).toBe(true);
              expect(path.split("/")).not.toContain("..");
            }
          }
        });

        test("every experimental NIC has a capture device the plan makes, or a reason it has none", () => {
          const steps = platform.plan(node, ctx).steps;
          // A process NIC on a kernel LAN is the vnode end of a veth pair.
          const taps = new Set(steps.flatMap((step) => (step.kind === "tap.create" || step.kind === "kernel.tap" ? [step.name] : step.kind === "kernel.veth" ? [step.peer] : [])));
          const namespaces = new Set(steps.flatMap((step) => (step.kind === "netns.create" ? [step.name] : [])));
          for (const nic of node.interfaces.filter((candidate) => !candidate.control)) {
            const where = platform.nicDevice(node, nic, ctx.datapaths?.get(nic.substrate));
            if (where.kind === "none") expect(where.reason.length).toBeGreaterThan(0);
            if (where.kind !== "device") continue;
            expect(taps.has(where.device)).toBe(true);
            if (where.netns !== undefined) expect(namespaces.has(where.netns)).toBe(true);
          }
        });

        test("no step reaches a shell", () => {
          const steps = [...platform.plan(node, ctx).steps, ...platform.stop(node, ctx).steps];
          for (const step of steps) {
            for (const argv of argvs(step)) {
              expect(argv.length).toBeGreaterThan(0);
              expect(shells.has(basename(argv[0] ?? ""))).toBe(false);
              expect(argv).not.toContain("-c");
            }
          }
        });
      });
    }
  });
}
