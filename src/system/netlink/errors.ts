// NetlinkError: a request the kernel refused, with the operation, the errno and the kernel's extended-ACK message.
import { BenitoError, ExitCode } from "../../errors";
import { strerror } from "../libc";

const texts = new Map<number, string>();

/** strerror, cached (a batch with many identical failures asks for the same text many times). */
export function errnoText(code: number): string {
  let text = texts.get(code);
  if (text === undefined) {
    text = strerror(code);
    texts.set(code, text);
  }
  return text;
}

/** "strerror: kernel message", or just the strerror text when the kernel sent no message. */
export function describeKernelError(code: number, kernelMessage: string | undefined): string {
  const text = errnoText(code);
  return kernelMessage === undefined || kernelMessage === "" ? text : `${text}: ${kernelMessage}`;
}

/**
 * NetlinkError class: the kernel refused a request, e.g.
 * "benito: while adding address 10.0.0.1/24 on link 3: File exists".
 */
export class NetlinkError extends BenitoError {
  /** The errno the kernel answered (positive). */
  readonly errno: number;
  /** The kernel's extended-ACK message, when it sent one. */
  readonly kernelMessage: string | undefined;

  constructor(doing: string, what: string, code: number, kernelMessage?: string) {
    super(doing, what, describeKernelError(code, kernelMessage), ExitCode.failed);
    this.name = "NetlinkError";
    this.errno = code;
    this.kernelMessage = kernelMessage;
  }
}
