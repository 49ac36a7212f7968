// `benito guest-config`: in a VM, unpacks the config disk the pnode attached into the config folder and sets the hostname; on the pnode, builds that disk.
import { defaultConfigDir } from "../../config/config-dir";
import { BenitoError, ExitCode, InputError, messageOf, UsageError } from "../../errors";
import { buildConfigDisk, configDiskSerial, readConfigDisk } from "../../guest/config-disk";
import { findDiskBySerial, readDisk, readTree, setKernelHostName, writeTree, writeWholeFile } from "../os";
import { parseCommandArgs } from "../args";
import type { Command } from "../command";

const help = `Usage: benito guest-config [--device DEV] [--into DIR] [--set-hostname]
       benito guest-config --build CONFIG_DIR --hostname NAME --out FILE

Inside a VM: finds the config disk the pnode attached (the virtio disk whose serial is
"${configDiskSerial}", or DEV), unpacks it into DIR (default ${defaultConfigDir}) and prints
the guest's hostname; --set-hostname also sets the kernel's hostname to it, so that
\`benito routes\`, \`benito ifaces\` and \`benito boot\` find this host without arguments.

The config disk is a raw disk holding one ustar archive: the files of the pnode's CONFIG_DIR
plus .benito/hostname (the element's name). The guest needs no filesystem driver to read it,
only virtio_blk; member names that would leave DIR are refused.

On the pnode, --build writes that disk image for CONFIG_DIR and NAME to FILE (benito vm
launch does this itself).`;

const options = {
  device: { type: "string" },
  into: { type: "string" },
  "set-hostname": { type: "boolean" },
  build: { type: "string" },
  hostname: { type: "string" },
  out: { type: "string" },
} as const;

/** The `guest-config` command. */
export const guestConfigCommand: Command = {
  name: "guest-config",
  help,
  async run(args, ctx) {
    const { values } = parseCommandArgs("guest-config", args, options, 0);
    if (values.build !== undefined) {
      if (values.hostname === undefined || values.out === undefined) throw new UsageError("guest-config", "--build needs --hostname NAME and --out FILE");
      writeWholeFile(values.out, buildConfigDisk({ hostname: values.hostname, entries: readTree(values.build) }));
      ctx.io.out(`wrote ${values.out}`);
      return ExitCode.ok;
    }
    const device = values.device ?? findDiskBySerial(configDiskSerial);
    if (device === undefined) throw new BenitoError("finding the config disk", `serial ${configDiskSerial}`, "no block device has that serial (is virtio_blk loaded? pass --device)");
    let config;
    try {
      config = readConfigDisk(readDisk(device));
    } catch (error) {
      // The archive's problems are the disk's: name the device they were read from.
      if (error instanceof InputError) throw new InputError("reading the config disk", device, error.reason, error.details);
      if (error instanceof BenitoError) throw error;
      throw new InputError("reading the config disk", device, messageOf(error));
    }
    const into = values.into ?? defaultConfigDir;
    writeTree(into, config.entries);
    if (values["set-hostname"] === true) setKernelHostName(config.hostname);
    ctx.io.out(config.hostname);
    return ExitCode.ok;
  },
};
