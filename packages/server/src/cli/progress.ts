/** A one-line progress indicator on stderr, shown only when stderr is a terminal. */

/** A progress line: a running count with its rate, and the share done and ETA when a total is known. */
export interface Progress {
  /** Add to the count (redrawn at most every 100 ms). */
  add(n?: number): void;
  /** Set the position towards `total` (bytes read of a file, for instance). */
  at(position: number): void;
  /** Erase the line (once). */
  done(): void;
}

/** What one progress line shows. */
export interface ProgressState {
  label: string;
  count: number;
  elapsedMs: number;
  /** Position towards `total` (defaults to `count`). */
  position?: number;
  /** Known total, in the unit of `position`. */
  total?: number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The text of a progress line: `<label> <count> (<rate>/s)`, and with a total
 * `<label> <count> (<rate>/s) 42% ETA 1m05s`. The ETA assumes the rate so far.
 *
 * @example
 * ```ts
 * formatProgress({ label: 'imported', count: 500, elapsedMs: 2000, position: 25, total: 100 });
 * // 'imported 500 (250/s) 25% ETA 6s'
 * ```
 */
export function formatProgress(p: ProgressState): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(p.count / seconds) : 0;
  let text = `${p.label} ${p.count} (${rate}/s)`;
  if (p.total !== undefined && p.total > 0) {
    const position = Math.min(p.position ?? p.count, p.total);
    const share = position / p.total;
    const eta = share > 0 ? (seconds * (1 - share)) / share : Number.POSITIVE_INFINITY;
    text += ` ${Math.floor(share * 100)}% ETA ${duration(eta)}`;
  }
  return text;
}

/**
 * Start a progress line (see {@link formatProgress}). `total` is known when the position is:
 * an import from a file gives its size and moves with {@link Progress.at}. Writes nothing when
 * `stream` is not a TTY (logs and pipes stay clean).
 */
export function progress(
  label: string,
  options: { total?: number; stream?: NodeJS.WritableStream & { isTTY?: boolean } } = {},
): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const started = Date.now();
  let count = 0;
  let position: number | undefined;
  let drawnAt = 0;
  let finished = false;
  const draw = () => {
    drawnAt = Date.now();
    const state: ProgressState = { label, count, elapsedMs: drawnAt - started };
    if (options.total !== undefined) state.total = options.total;
    if (position !== undefined) state.position = position;
    stream.write(`\r\x1b[K${formatProgress(state)}`);
  };
  // Redrawn on a timer too, so that the rate and ETA move while a slow item is under way.
  const timer = tty ? setInterval(draw, 500) : undefined;
  timer?.unref();
  if (tty) draw();
  const maybeDraw = () => {
    if (tty && !finished && Date.now() - drawnAt >= 100) draw();
  };
  return {
    add(n = 1) {
      count += n;
      maybeDraw();
    },
    at(p) {
      position = p;
      maybeDraw();
    },
    done() {
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearInterval(timer);
      if (tty) stream.write('\r\x1b[K');
    },
  };
}
