// The command line's one door to the operating system: every src/system function a command calls, re-exported.
//
// Commands parse, plan (src/plan) and print; what they do to the machine goes through src/apply or,
// for the few direct reads and writes a command makes itself, through this file. No other file of
// src/cli imports src/system (test/layering/imports.test.ts holds the rule), so what the CLI can
// touch is listed here, in one place.

export { ByteSink } from "../system/byte-sink";
export { pathExists, readFileBytes, readOptionalText } from "../system/files";
export { failpoint } from "../system/failpoints";
export { dotToSvg } from "../system/graphviz";
export { findDiskBySerial, readDisk, setKernelHostName } from "../system/guest";
export { defaultStateDir, readAddressRecords, writeAddressRecords } from "../system/ifaces-state";
export { debianPackageOwnsBenito, detectInit, readTextInRoot } from "../system/image-root";
export type { InitKind } from "../system/image-root";
export { watchInterrupts } from "../system/interrupts";
export { optimizeFromNow } from "../system/jit";
export { probeKvm } from "../system/kvm";
export { Ledger } from "../system/ledger";
export { forgetLinkOverrides, readLinkOverrides, writeLinkOverrides } from "../system/link-overrides";
export { netemAvailable } from "../system/netem-probe";
export { BENITO_RTPROT } from "../system/netlink/constants";
export { hostLinkName } from "../system/netlink/host-link";
export { deleteNamespace, ensureNamespace, execInNamespace, execProgram, namespaceExists } from "../system/netns";
export { PacketSocket, retireMs, snapLength } from "../system/packet-socket";
export { tidyRunDir } from "../system/run-dir-tidy";
export { defaultLockWaitSeconds, withRunLock } from "../system/run-lock";
export { writeWholeFile } from "../system/paths";
export { appendLogLine, checkWritableFolder, logLineFailure, readOptionalJson, writeFileAtomic } from "../system/state-files";
export { foreignFolder, switchFolderOwner } from "../system/switch-folder";
export { createTap, deleteTap, interfaceExists, parseMac, validateInterfaceName } from "../system/tap";
export type { TapOptions } from "../system/tap";
export { readTree, writeTree } from "../system/tree";
export type { ForwardStats } from "../system/vde/forwarder";
export type { PortStatus } from "../system/vde/forwarder-daemon";
export { maxShards } from "../system/vde/forwarder-records";
export { observePool } from "../system/vde/forwarder-control";
