// When the forwarding loop may trade CPU for latency: spin before sleeping while a CPU is spare, real-time priority while its traffic is latency-bound.
import { ptr } from "bun:ffi";
import { cString, errno, libc, strerror } from "../libc";
import { CLOCK_THREAD_CPUTIME_ID, O_CLOEXEC, O_RDONLY, RLIMIT_RTTIME, SCHED_OTHER, SCHED_RESET_ON_FORK, SCHED_RR } from "../libc-constants";

/** How often the machine and the loop's own CPU use are sampled, and the window they are judged over. */
const windowMs = 100;
/** Idle time (besides the loop's own spinning) that makes a CPU spare: half a CPU over the window. */
const spareCpus = 0.5;
/**
 * Real-time priority is for latency-bound traffic, whose frames answer each other (a
 * `ping -f`, a request/response exchange: per port, about one frame in for each frame out);
 * bulk traffic (a one-way stream: none in; TCP with its ACKs: about one in for two out) gains
 * nothing from it and would take the CPU from the processes that receive it (a 60-byte UDP
 * flood through a real-time forwarder delivered 1.0–1.1× of `vde_plug2tap`'s frames against
 * 1.3–1.5×). The measure does not depend on the priority itself, as frames per wake-up did (a
 * real-time loop is woken for every frame, so a paced flood looked latency-bound). So the
 * forwarder steps down to the normal class when a window with traffic is less balanced than
 * {@link bulkBalance}, or its own work (spinning aside) took more than {@link busyShare} of a
 * CPU (a flood must not hold a CPU at real-time priority, as softirq work that runs long moves
 * to ksoftirqd); it steps up again when a window with traffic is balanced above
 * {@link latencyBalance} and its work is under {@link lightShare}. A window with less traffic
 * than {@link minFrames} (idle, a few broadcasts) changes nothing.
 */
const bulkBalance = 0.6;
const latencyBalance = 0.8;
const busyShare = 0.75;
/** Below 75 %, not lower: a `ping -f` beside two CPU hogs is ~57 % of a CPU of work in the normal class (after a flood stepped it down, a lower bound kept it there). */
const lightShare = 0.7;
const minFrames = 50;
/** The lowest real-time priority: above every normal task, below every other real-time one. */
const realTimePriority = 1;
/**
 * The kernel's own bound on the real-time thread (RLIMIT_RTTIME, CPU time without blocking): the
 * governor steps down within a window of heavy work, so only a loop stuck in real-time
 * priority can reach it; SIGXCPU at the soft limit ends the forwarder (status reports it, boot
 * restarts it), SIGKILL at the hard one.
 */
const realTimeSoftLimitUs = 2_000_000;
const realTimeHardLimitUs = 3_000_000;
/** RLIM_INFINITY as the kernel reports it (all ones). */
const rlimInfinity = 0xffff_ffff_ffff_ffffn;
/** Clock ticks per second of /proc/stat (USER_HZ: 100 on every Linux architecture benito runs on). */
const ticksPerSecond = 100;

/** One window's figures, as {@link decide} judges them. */
export interface WindowSample {
  /** Length of the window, µs. */
  readonly elapsedUs: number;
  /** Idle + iowait time of all CPUs over the window, µs (undefined: /proc/stat unreadable). */
  readonly idleUs: number | undefined;
  /** CPU time the forwarding thread used over the window, µs. */
  readonly ownUs: number;
  /** Of that, CPU time spent spinning (looking for work instead of sleeping), µs. */
  readonly spinUs: number;
  /** The window's traffic (see {@link Traffic}). */
  readonly traffic: Traffic;
}

/** Traffic interface: one window's frames over every port of the loop. */
export interface Traffic {
  /** Frames moved, both ways. */
  readonly frames: number;
  /** Σ min / Σ max of each port's frames out and in (1 with no traffic). */
  readonly balance: number;
}

/** Decision interface: what the loop may do until the next window. */
export interface Decision {
  /** Spin before sleeping: a CPU was spare (nobody else wanted it). */
  readonly spin: boolean;
  /** Run at real-time priority: the traffic was latency-bound and the forwarder's own work light. */
  readonly realTime: boolean;
}

/**
 * Judges one window. Spinning is allowed only when the CPUs were idle for at least
 * {@link spareCpus} CPUs' worth of the window, counting the loop's own spinning as idle (it
 * would have been). Real-time priority holds while the traffic is latency-bound (balanced) and
 * the forwarder's own work (spinning aside) stays under {@link busyShare}, with hysteresis so
 * it does not flap.
 */
export function decide(sample: WindowSample, wasRealTime: boolean): Decision {
  const spin = sample.idleUs !== undefined && sample.idleUs + sample.spinUs >= sample.elapsedUs * spareCpus;
  const work = Math.max(0, sample.ownUs - sample.spinUs) / sample.elapsedUs;
  const traffic = sample.traffic.frames >= minFrames;
  const realTime = wasRealTime
    ? work <= busyShare && (!traffic || sample.traffic.balance >= bulkBalance)
    : work < lightShare && traffic && sample.traffic.balance >= latencyBalance;
  return { spin, realTime };
}

/** The idle + iowait ticks (4th and 5th numbers) of /proc/stat's first ("cpu ") line, or undefined. */
export function idleTicksOf(text: Uint8Array, length: number): number | undefined {
  if (length < 5 || text[0] !== 0x63 || text[1] !== 0x70 || text[2] !== 0x75 || text[3] !== 0x20) return undefined;
  let field = 0;
  let value = -1;
  let idle = 0;
  for (let at = 4; at < length; at += 1) {
    const byte = text[at] ?? 0;
    if (byte >= 0x30 && byte <= 0x39) {
      value = (value < 0 ? 0 : value * 10) + (byte - 0x30);
      continue;
    }
    if (value >= 0) {
      field += 1;
      if (field === 4 || field === 5) idle += value;
      if (field === 5) return idle;
      value = -1;
    }
    if (byte === 0x0a) break;
  }
  return undefined;
}

/**
 * LatencyGovernor class: samples at most once per window (on every {@link spin} call: the loop
 * asks on every wake-up) and applies the {@link decide} result: {@link spin} says whether the
 * loop may spin; after {@link start}, the calling thread's scheduling class is switched between
 * SCHED_RR and the normal class as its traffic and its own work change. Must be created and used on the
 * forwarding thread (the policy and the CPU clock are per thread).
 */
export class LatencyGovernor {
  readonly #fd: number;
  readonly #buffer = new Uint8Array(512);
  readonly #bufferAddress: number;
  readonly #param = new Int32Array(1);
  readonly #clock = new BigInt64Array(2);
  readonly #clockAddress: number;
  readonly #log: (line: string) => void;
  #lastAt = performance.now();
  #lastIdleTicks: number | undefined;
  #lastOwnUs: number;
  #spinUs = 0;
  #spinStartUs = 0;
  #spin = false;
  #started = false;
  #realTime = false;
  #realTimeRefused = false;
  #stepDownFailed = false;

  /** @param log Where a refused priority change is reported (once). */
  constructor(log: (line: string) => void) {
    this.#log = log;
    this.#fd = libc.open(cString("/proc/stat"), O_RDONLY | O_CLOEXEC, 0);
    this.#bufferAddress = ptr(this.#buffer);
    this.#clockAddress = ptr(this.#clock);
    this.#lastIdleTicks = this.#readIdleTicks();
    this.#lastOwnUs = this.#threadCpuUs();
  }

  /**
   * Lets the governor use real-time priority from now on (called once the forwarder's start-up
   * work — opening every recorded port — is done: that work is not judged by any window).
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const limit = new BigUint64Array(2);
    // An operator's own bound (systemd LimitRTTIME=, ulimit -R) is kept; none: benito's.
    const operatorBound = libc.getrlimit(RLIMIT_RTTIME, ptr(limit)) === 0 && limit[0] !== rlimInfinity;
    limit[0] = BigInt(realTimeSoftLimitUs);
    limit[1] = BigInt(realTimeHardLimitUs);
    if (!operatorBound && libc.setrlimit(RLIMIT_RTTIME, ptr(limit)) !== 0) {
      // Without the kernel's bound, the governor's own step-down is the only one: stay normal.
      this.#realTimeRefused = true;
      this.#log(`could not use real-time priority for the forwarding thread: no bound on its real-time CPU time (RLIMIT_RTTIME: ${strerror(errno())}); it stays in the normal class`);
      return;
    }
    this.#setRealTime(true);
  }

  /**
   * Whether the loop may spin now; judges a window when it is over (`traffic` is asked then for
   * the window's frames). `now` is performance.now().
   */
  spin(now: number, traffic: () => Traffic): boolean {
    if (now - this.#lastAt >= windowMs) this.#sample(now, traffic());
    return this.#spin;
  }

  /** Marks the start of a spin (its CPU time is counted as idle, not as work). */
  spinStarted(): void {
    this.#spinStartUs = this.#threadCpuUs();
  }

  /** Marks the end of the spin begun by {@link spinStarted}. */
  spinEnded(): void {
    this.#spinUs += Math.max(0, this.#threadCpuUs() - this.#spinStartUs);
  }

  /** Closes /proc/stat. */
  close(): void {
    if (this.#fd >= 0) libc.close(this.#fd);
  }

  #sample(now: number, traffic: Traffic): void {
    const idleTicks = this.#readIdleTicks();
    const ownUs = this.#threadCpuUs();
    const decision = decide(
      {
        elapsedUs: (now - this.#lastAt) * 1000,
        idleUs: idleTicks === undefined || this.#lastIdleTicks === undefined ? undefined : ((idleTicks - this.#lastIdleTicks) * 1_000_000) / ticksPerSecond,
        ownUs: ownUs - this.#lastOwnUs,
        spinUs: this.#spinUs,
        traffic,
      },
      this.#realTime,
    );
    this.#spin = decision.spin;
    if (this.#started && decision.realTime !== this.#realTime) this.#setRealTime(decision.realTime);
    this.#lastAt = now;
    this.#lastIdleTicks = idleTicks;
    this.#lastOwnUs = ownUs;
    this.#spinUs = 0;
  }

  #setRealTime(on: boolean): void {
    if (on && this.#realTimeRefused) return;
    this.#param[0] = on ? realTimePriority : 0;
    // pid 0: the calling thread (the forwarding loop's), not Bun's helper threads; and threads it
    // creates later (JIT workers, GC helpers start lazily) must not inherit real-time priority.
    if (libc.sched_setscheduler(0, (on ? SCHED_RR : SCHED_OTHER) | SCHED_RESET_ON_FORK, ptr(this.#param)) !== 0) {
      const reason = strerror(errno());
      if (on) {
        // Not allowed (no CAP_SYS_NICE, no real-time budget in this cgroup): never asked again.
        this.#realTimeRefused = true;
        this.#log(`could not use real-time priority for the forwarding thread: ${reason}`);
      } else if (!this.#stepDownFailed) {
        // Stepping down failed: tried again at every window until it works.
        this.#stepDownFailed = true;
        this.#log(`could not leave real-time priority for the forwarding thread: ${reason}; trying again`);
      }
      return;
    }
    this.#realTime = on;
  }

  #readIdleTicks(): number | undefined {
    if (this.#fd < 0) return undefined;
    return idleTicksOf(this.#buffer, Number(libc.pread(this.#fd, this.#bufferAddress, this.#buffer.length, 0)));
  }

  /** The calling thread's CPU time, µs (0 if the clock cannot be read). */
  #threadCpuUs(): number {
    if (libc.clock_gettime(CLOCK_THREAD_CPUTIME_ID, this.#clockAddress) !== 0) return 0;
    return Number(this.#clock[0] ?? 0n) * 1_000_000 + Number(this.#clock[1] ?? 0n) / 1000;
  }
}
