/** Where long operations report what they are doing: one line that changes, then a final line. */
export interface Progress {
  update(text: string): void;
  done(text: string): void;
}

/**
 * Progress on stderr: on a terminal one line rewritten in place (at most 10 times a second); otherwise
 * (CI logs, pipes) a plain line every few seconds, so a slow download is visibly alive without flooding.
 */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr, intervalMs = 2000): Progress {
  let last = 0;
  let pending = false;
  return {
    update(text) {
      const now = Date.now();
      if (stream.isTTY) {
        if (now - last < 100) return;
        stream.write(`\r\x1b[K${text}`);
        pending = true;
      } else {
        if (now - last < intervalMs) return;
        stream.write(`${text}\n`);
      }
      last = now;
    },
    done(text) {
      stream.write(stream.isTTY && pending ? `\r\x1b[K${text}\n` : `${text}\n`);
      pending = false;
      last = 0;
    },
  };
}

/** A progress sink that says nothing (library use, tests). */
export const silentProgress: Progress = { update() {}, done() {} };

/** "12.4 MB" from a byte count (decimal units, as Maven prints them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}
