/** Cuts a one-line string to width columns, with an ellipsis when it had to cut. */
export function clip(text: string, width: number): string {
  if (width <= 0) return '';
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  return flat.length <= width ? flat : width === 1 ? '…' : `${flat.slice(0, width - 1)}…`;
}

/** Seconds as the step list shows them: "0.4s", "12.3s", "2m05s". */
export function seconds(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export interface Column {
  title: string;
  /** Never narrower than this; the flexible column takes what is left. */
  min: number;
  /** Preferred width at most (the content's width is used when smaller). */
  max?: number;
  flex?: boolean;
}

/**
 * Column widths that fit a table into width: every column gets its content width (capped at max), and when
 * the sum is too wide the flexible column, then the others down to their min, give way.
 */
export function fitColumns(columns: Column[], rows: string[][], width: number, gap = 2): number[] {
  const want = columns.map((c, i) => Math.min(c.max ?? Infinity, Math.max(c.title.length, c.min, ...rows.map((r) => (r[i] ?? '').length))));
  const total = () => want.reduce((a, b) => a + b, 0) + gap * (columns.length - 1);
  let over = total() - width;
  const order = [...columns.keys()].sort((a, b) => Number(columns[b]!.flex ?? false) - Number(columns[a]!.flex ?? false));
  for (const i of order) {
    if (over <= 0) break;
    const give = Math.min(over, want[i]! - columns[i]!.min);
    if (give > 0) {
      want[i]! -= give;
      over -= give;
    }
  }
  return want;
}

export function row(cells: string[], widths: number[], gap = 2): string {
  return cells.map((c, i) => (i === cells.length - 1 ? clip(c, widths[i]!) : clip(c, widths[i]!).padEnd(widths[i]!))).join(' '.repeat(gap)).trimEnd();
}

/**
 * Ink hands over whatever one read returned, so keys typed quickly (or sent by a script) arrive together as
 * "jjl": split plain characters so each is one key press.
 */
export function perKey<K extends { ctrl: boolean; meta: boolean }>(handler: (input: string, key: K) => void): (input: string, key: K) => void {
  return (input, key) => {
    if (input.length > 1 && !key.ctrl && !key.meta && !input.includes('\x1b')) for (const ch of input) handler(ch, key);
    else handler(input, key);
  };
}

/** Word-wraps one line to width columns (a word longer than width is cut across lines). */
export function wrapLine(line: string, width: number): string[] {
  if (width <= 0 || line.length <= width) return [line];
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const space = rest.lastIndexOf(' ', width);
    const cut = space > width / 3 ? space : width;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) out.push(rest);
  return out;
}
