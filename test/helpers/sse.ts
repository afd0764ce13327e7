// A Server-Sent Events reader for tests: opens a stream with fetch, parses events as they arrive,
// and waits for the first event matching a test (with a deadline).
export interface SseEvent {
  event: string;
  data: unknown;
  at: number;
}

export interface SseStream {
  events: SseEvent[];
  status: number;
  contentType: string | null;
  next(match: (e: SseEvent) => boolean, ms: number, label: string): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  const ended = (async () => {
    if (!res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const lines = block.split('\n');
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (event) events.push({ event, data: JSON.parse(data), at: Date.now() });
          for (const w of waiters) w();
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    events,
    status: res.status,
    contentType: res.headers.get('content-type'),
    ended,
    close: () => abort.abort(),
    next(match, ms, label) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no SSE event for ${label} within ${ms} ms (got: ${events.map((e) => e.event).join(', ')})`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}
