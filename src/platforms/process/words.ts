// Splits a TopDL `startup` command into an argv without a shell: quotes group words, nothing is expanded.

/** Programs refused as argv[0]: a startup command must name the program itself, never a shell. */
export const shells: ReadonlySet<string> = new Set(["sh", "bash", "dash", "ash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox"]);

/**
 * Splits a command line into words: whitespace separates, single quotes keep everything
 * literally, double quotes keep everything but `\"` and `\\`, a backslash outside quotes
 * escapes the next character. No variables, globs or operators: `;`, `|`, `$` are plain text.
 *
 * @returns The words, or a message saying what is wrong (an unclosed quote).
 */
export function splitWords(line: string): string[] | { readonly error: string } {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) return { error: `unclosed ${quote === "'" ? "single" : "double"} quote` };
  if (inWord) words.push(word);
  return words;
}

/** Programs that run another program named later on their command line. */
const wrappers: ReadonlySet<string> = new Set(["env", "sudo", "nohup", "setsid", "nice", "ionice", "stdbuf", "chrt", "taskset"]);

/**
 * The shell a command line would end up running, looking through wrappers (`env`, `sudo`,
 * `nohup`, …) past their options and VAR=value words; undefined when it runs no shell.
 * (A wrapper option that takes a separate value may hide a program; shells named anywhere
 * before the first ordinary program word are still caught.)
 */
export function shellIn(words: readonly string[]): string | undefined {
  for (const word of words) {
    const name = word.slice(word.lastIndexOf("/") + 1);
    if (shells.has(name)) return word;
    if (wrappers.has(name) || word.startsWith("-") || /^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || /^\d+$/.test(word)) continue;
    return undefined;
  }
  return undefined;
}
