// Reading a child's output stream in tests: until a line has arrived, then the rest.

/** What is left of a stream after readUntil. */
export interface ChunkReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
}

/** Reads a stream until `text` has arrived, or it ends (bounded by the test's timeout); returns everything read and the reader. */
export async function readUntil(stream: ReadableStream<Uint8Array>, text: string): Promise<{ seen: string; rest: ChunkReader }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  while (!seen.includes(text)) {
    const chunk = await reader.read();
    if (chunk.done) break;
    seen += decoder.decode(chunk.value);
  }
  return { seen, rest: reader };
}

/** Reads what is left of a stream as text. */
export async function drain(reader: ChunkReader): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);
  return text;
}
