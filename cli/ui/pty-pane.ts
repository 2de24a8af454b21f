import xterm from '@xterm/headless';
import { spawn, type IPty } from 'node-pty';

// A CommonJS package: its named exports are not visible to ESM imports.
const { Terminal } = xterm;
type Terminal = InstanceType<typeof Terminal>;

export interface PtyPaneOptions {
  command: string;
  args: string[];
  cols: number;
  rows: number;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Called (at most every ~50 ms) when the screen changed. */
  onUpdate: () => void;
  onExit?: (code: number) => void;
}

export interface PtyPane {
  /** The pane's screen and scrollback as lines, SGR colours kept; the last rows lines are the live screen. */
  lines(): string[];
  resize(cols: number, rows: number): void;
  /** Exit code once the command has ended. */
  readonly exitCode: number | undefined;
  kill(): void;
}

/**
 * Runs a command in a pseudo-terminal and keeps its screen in a headless VT emulator, so a child that draws
 * (spinners, progress bars, cursor moves, colours: docker, kind, `dev test`'s own Ink view) shows in a pane
 * exactly as it would in a terminal of that size.
 */
export function startPtyPane(o: PtyPaneOptions): PtyPane {
  const term = new Terminal({ cols: o.cols, rows: o.rows, scrollback: 2000, allowProposedApi: true });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, TERM: 'xterm-256color', COLORTERM: 'truecolor', FORCE_COLOR: '1', ...o.env })) if (v !== undefined) env[k] = v;
  const pty: IPty = spawn(o.command, o.args, { name: 'xterm-256color', cols: o.cols, rows: o.rows, cwd: o.cwd ?? process.cwd(), env });
  let exitCode: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      o.onUpdate();
    }, 50);
  };
  pty.onData((d) => term.write(d, changed));
  pty.onExit(({ exitCode: code }) => {
    exitCode = code;
    // The last bytes may still be in the emulator's queue: write nothing and report once they are parsed.
    term.write('', () => {
      o.onUpdate();
      o.onExit?.(code);
    });
  });
  return {
    lines: () => {
      const buf = term.buffer.active;
      const out: string[] = [];
      for (let y = 0; y < buf.length; y++) {
        const line = buf.getLine(y);
        out.push(line ? sgrLine(line, term.cols) : '');
      }
      // Trailing empty screen rows below the cursor carry nothing.
      const last = Math.max(buf.baseY + buf.cursorY + 1, 0);
      while (out.length > last && out[out.length - 1] === '') out.pop();
      return out;
    },
    resize: (cols, rows) => {
      if (exitCode === undefined) pty.resize(cols, rows);
      term.resize(cols, rows);
    },
    get exitCode() {
      return exitCode;
    },
    kill: () => {
      if (timer) clearTimeout(timer);
      if (exitCode === undefined) pty.kill();
      term.dispose();
    },
  };
}

type Line = NonNullable<ReturnType<Terminal['buffer']['active']['getLine']>>;
type Cell = NonNullable<ReturnType<Line['getCell']>>;

function colour(cell: Cell, fg: boolean): string {
  const mode = fg ? cell.getFgColorMode() : cell.getBgColorMode();
  const c = fg ? cell.getFgColor() : cell.getBgColor();
  const isDefault = fg ? cell.isFgDefault() : cell.isBgDefault();
  if (isDefault || mode === 0) return '';
  if (fg ? cell.isFgRGB() : cell.isBgRGB()) return `${fg ? 38 : 48};2;${(c >> 16) & 255};${(c >> 8) & 255};${c & 255}`;
  if (c < 8) return String((fg ? 30 : 40) + c);
  if (c < 16) return String((fg ? 90 : 100) + c - 8);
  return `${fg ? 38 : 48};5;${c}`;
}

function style(cell: Cell): string {
  return [cell.isBold() ? '1' : '', cell.isDim() ? '2' : '', cell.isItalic() ? '3' : '', cell.isUnderline() ? '4' : '', cell.isInverse() ? '7' : '', colour(cell, true), colour(cell, false)].filter(Boolean).join(';');
}

/** One buffer line as text with SGR sequences where the style changes; trailing blanks dropped. */
export function sgrLine(line: Line, cols: number): string {
  let out = '';
  let current = '';
  let pending = '';
  for (let x = 0; x < cols; x++) {
    const cell = line.getCell(x);
    if (!cell || cell.getWidth() === 0) continue;
    const chars = cell.getChars() || ' ';
    const s = style(cell);
    if (chars === ' ' && s === '') {
      if (current !== '') {
        out += '\x1b[0m';
        current = '';
      }
      pending += ' ';
      continue;
    }
    out += pending;
    pending = '';
    if (s !== current) {
      out += `\x1b[0m${s ? `\x1b[${s}m` : ''}`;
      current = s;
    }
    out += chars;
  }
  return current ? `${out}\x1b[0m` : out;
}
