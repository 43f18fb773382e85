/** One server-sent event as a client receives it. */
export interface StreamEvent {
  event: string;
  data: string;
}

export interface EventStreamReader {
  status: number;
  headers: Headers;
  /** The next event; rejects after `timeoutMs`, resolves undefined once the stream has ended. */
  next(timeoutMs?: number): Promise<StreamEvent | undefined>;
  close(): void;
}

/**
 * Opens an event stream with fetch and reads it event by event, as an EventSource would
 * (comment lines skipped), so a test sees each event when it arrives, not at the end.
 */
export async function openEventStream(url: string): Promise<EventStreamReader> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = !reader;
  // A read outlives a timed-out next(): the chunk it brings belongs to the next call.
  let reading: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  function parse(block: string): StreamEvent | undefined {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || line === '') continue;
      const [field, ...rest] = line.split(':');
      const value = rest.join(':').replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    return data.length > 0 ? { event, data: data.join('\n') } : undefined;
  }

  async function next(timeoutMs = 10_000): Promise<StreamEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const parsed = parse(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (parsed) return parsed;
        cut = buffer.indexOf('\n\n');
      }
      if (ended || !reader) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms from ${url}`);
      let timer: NodeJS.Timeout | undefined;
      reading ??= reader.read();
      const chunk = await Promise.race([
        reading,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms from ${url}`)), left);
        }),
      ]).finally(() => clearTimeout(timer));
      reading = undefined;
      if (chunk.done) ended = true;
      else buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n');
    }
  }

  return { status: res.status, headers: res.headers, next, close: () => abort.abort() };
}
