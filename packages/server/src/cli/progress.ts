/** A one-line progress indicator on stderr, shown only when stderr is a terminal. */

/** A progress line: a running count, or a spinner with the elapsed time when there is no count. */
export interface Progress {
  /** Add to the count (redrawn at most every 100 ms). */
  add(n?: number): void;
  /** Erase the line (once). */
  done(): void;
}

const FRAMES = ['|', '/', '-', '\\'];

/**
 * Start a progress line `<label> <count>` (or `<label> <spinner> <seconds>s` when `spinner`).
 * Writes nothing when `stream` is not a TTY (logs and pipes stay clean).
 */
export function progress(
  label: string,
  options: { spinner?: boolean; stream?: NodeJS.WritableStream & { isTTY?: boolean } } = {},
): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const started = Date.now();
  let count = 0;
  let frame = 0;
  let drawnAt = 0;
  let finished = false;
  const draw = () => {
    drawnAt = Date.now();
    const text = options.spinner
      ? `${label} ${FRAMES[frame++ % FRAMES.length]} ${((drawnAt - started) / 1000).toFixed(1)}s`
      : `${label} ${count}`;
    stream.write(`\r\x1b[K${text}`);
  };
  const timer = tty && options.spinner ? setInterval(draw, 100) : undefined;
  timer?.unref();
  if (tty) draw();
  return {
    add(n = 1) {
      count += n;
      if (tty && Date.now() - drawnAt >= 100) draw();
    },
    done() {
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearInterval(timer);
      if (tty) stream.write('\r\x1b[K');
    },
  };
}
