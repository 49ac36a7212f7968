// Where one VM's files live under the run folder: one folder per VM, removed whole by `vm stop`.
import { join } from "node:path";
import { nodeFolderName } from "../names";

/** VmLayout interface: every file of one VM. */
export interface VmLayout {
  /** RUN/vm/NODE. */
  readonly dir: string;
  /** The copy-on-write overlay over the base image. */
  readonly overlay: string;
  /** The read-only config disk (ustar archive of CONFIG_DIR + hostname). */
  readonly configDisk: string;
  /** QEMU's pidfile. */
  readonly pidfile: string;
  /** The QMP monitor socket. */
  readonly qmp: string;
  /** The serial console socket (connect to it to talk to the guest). */
  readonly serialSocket: string;
  /** Everything the guest printed on its serial console. */
  readonly serialLog: string;
  /** QEMU's own output while it starts. */
  readonly log: string;
}

/** The layout of a VM's folder. */
export function vmLayout(runDir: string, nodeName: string): VmLayout {
  const dir = join(runDir, "vm", nodeFolderName(nodeName));
  return {
    dir,
    overlay: join(dir, "disk.qcow2"),
    configDisk: join(dir, "config.tar"),
    pidfile: join(dir, "qemu.pid"),
    qmp: join(dir, "qmp.sock"),
    serialSocket: join(dir, "serial.sock"),
    serialLog: join(dir, "serial.log"),
    log: join(dir, "qemu.log"),
  };
}
