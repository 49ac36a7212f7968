// Whether root-only tests (namespaces, TAP, switches) can run here; CI runs as root, so they run there.
/** True when running as root. */
export const isRoot = process.getuid?.() === 0;

if (!isRoot) {
  console.warn("SKIPPED: root-only tests (network namespaces, TAP, VDE, QEMU): not running as root");
}
