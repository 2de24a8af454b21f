import xterm from '@xterm/headless';
import { spawn, type IPty } from 'node-pty';
import { devBin } from '../../cli/helpers/dev.ts';

const { Terminal } = xterm;

/** A real pseudo-terminal running `dev`, its screen kept by a VT emulator so tests read what a user would see. */
export class Screen {
  readonly term: InstanceType<typeof Terminal>;
  readonly pty: IPty;
  readonly exited: Promise<number>;
  private raw = '';

  constructor(args: string[], env: Record<string, string>, readonly cols = 80, readonly rows = 24, command = process.execPath, argv = [devBin, ...args]) {
    this.term = new Terminal({ cols, rows, scrollback: 1000, allowProposedApi: true });
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'CI' && k !== 'DEV_PLAIN') base[k] = v;
    this.pty = spawn(command, argv, { name: 'xterm-256color', cols, rows, cwd: process.cwd(), env: { ...base, TERM: 'xterm-256color', ...env } });
    this.pty.onData((d) => {
      this.raw += d;
      this.term.write(d);
    });
    this.exited = new Promise((resolve) => this.pty.onExit(({ exitCode }) => this.term.write('', () => resolve(exitCode))));
  }

  /** The visible screen, one string per row, trailing blanks trimmed. */
  screen(): string[] {
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.rows; y++) out.push(buf.getLine(buf.viewportY + y)?.translateToString(true) ?? '');
    return out;
  }

  /** Screen and scrollback. */
  all(): string[] {
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < buf.length; y++) out.push(buf.getLine(y)?.translateToString(true) ?? '');
    return out;
  }

  text(): string {
    return this.screen().join('\n');
  }

  /** Everything the program wrote, escape sequences included. */
  output(): string {
    return this.raw;
  }

  async waitFor(what: RegExp, timeoutMs = 60_000, whole = false): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = (whole ? this.all() : this.screen()).join('\n');
      if (what.test(text)) return text;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what} on the screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  keys(data: string): void {
    this.pty.write(data);
  }

  kill(): void {
    try {
      this.pty.kill();
    } catch {
      // already gone
    }
    this.term.dispose();
  }
}
