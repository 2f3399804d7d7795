/** Terminal output for the CLI: tables and a progress bar that degrades to plain lines when not on a TTY. */

/** A plain-text table with a header row, columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

/** Key/value lines, keys aligned. */
export function summary(pairs: readonly [string, string | number][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${v}`).join('\n');
}

/** A progress bar: redrawn in place on a TTY, else a plain line at each quarter done. */
export class Progress {
  private lastLine = '';
  private lastPercentShown = -1;
  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, detail = ''): void {
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const percent = Math.floor(ratio * 100);
    if (this.stream.isTTY) {
      const width = 30;
      const filled = Math.round(ratio * width);
      const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${detail}`.trimEnd();
      if (line !== this.lastLine) this.stream.write(`\r${line.padEnd(this.lastLine.length)}`);
      this.lastLine = line;
    } else if (percent >= this.lastPercentShown + 25 || (percent === 100 && this.lastPercentShown !== 100)) {
      this.stream.write(`${this.label}: ${done}/${total} ${detail}`.trimEnd() + '\n');
      this.lastPercentShown = percent;
    }
  }

  finish(): void {
    if (this.stream.isTTY && this.lastLine) this.stream.write('\n');
    this.lastLine = '';
  }
}

/**
 * A progress bar for work whose size is known only once it starts: shown only when the total reaches `from`, so a
 * small run prints nothing, a large one a bar on a terminal or a line at each quarter otherwise.
 */
export function progressFrom(label: string, unit: string, from = 200): { update(done: number, total: number): void; finish(): void } {
  const bar = new Progress(label);
  let shown = false;
  return {
    update(done, total) {
      if (total < from) return;
      shown = true;
      bar.update(done, total, unit);
    },
    finish() {
      if (shown) bar.finish();
    },
  };
}
