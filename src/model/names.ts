// Which names from input can become interface, namespace and file names (pure checks shared by the validator and src/system).

/** The kernel's limit on interface names in bytes (IFNAMSIZ - 1). */
const maxInterfaceNameBytes = 15;

/**
 * Checks an interface name the way the kernel's dev_valid_name does, and refuses `%` (the
 * kernel would treat it as a numbering pattern and pick another name).
 *
 * @returns The list of problems (empty when the name is valid).
 */
export function interfaceNameProblems(name: string): string[] {
  const problems: string[] = [];
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes === 0) problems.push("the name is empty");
  if (bytes > maxInterfaceNameBytes) problems.push(`the name is ${bytes} bytes long; the kernel allows at most ${maxInterfaceNameBytes}`);
  if (name === "." || name === "..") problems.push(`"${name}" is reserved`);
  if (name.includes("/")) problems.push('the name contains "/"');
  if (name.includes(":")) problems.push('the name contains ":"');
  if (name.includes("%")) problems.push('the name contains "%" (the kernel would take it as a numbering pattern)');
  if (/\s/.test(name)) problems.push("the name contains whitespace");
  if (name.includes("\0")) problems.push("the name contains a NUL byte");
  else if (/[\u0001-\u001f\u007f]/.test(name)) problems.push("the name contains a control character");
  return problems;
}

/** A name made only of characters every check below lets through (an experiment has thousands of names). */
const plainNodeName = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/**
 * Why a node's name cannot be a host name benito acts as (it picks `route/NAME`, names run-dir
 * folders and namespaces, and is passed to the in-namespace `benito ifaces`), or undefined when
 * it can.
 */
export function nodeNameProblem(name: string): string | undefined {
  // The usual name (letters, digits, "_", "-", "." not first and never "..") passes every check below.
  if (name.length <= 255 && plainNodeName.test(name) && !name.includes("..")) return undefined;
  if (name.trim() === "") return "the name is empty";
  if (name === "." || name === "..") return `"${name}" is reserved`;
  if (name.includes("/")) return 'the name contains "/"';
  if (name.includes("..")) return 'the name contains ".."';
  if (/[\u0000-\u001f\u007f]/.test(name)) return "the name contains a control character";
  if (/\s/.test(name)) return "the name contains whitespace";
  if (Buffer.byteLength(name, "utf8") > 255) return "the name is longer than a file name may be (255 bytes)";
  return undefined;
}

/** Why a `benito:vde_switch` value cannot be a switch folder, or undefined when it can. */
export function switchPathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "the switch path must be absolute";
  if (path.split("/").some((part) => part === "..")) return 'the switch path must not contain ".."';
  if (/[\u0000-\u001f\u007f]/.test(path)) return "the switch path contains a control character";
  return undefined;
}
