import { Box, Text, render, useApp, useInput, useStdout } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Runtime, SystemStatus } from '../../cluster/runtime.ts';
import { age } from '../render/status.ts';
import { LogPane, type LogSource } from './LogPane.tsx';
import { MailPane } from './MailPane.tsx';
import { startPtyPane, type PtyPane } from './pty-pane.ts';
import { clip, fitColumns, perKey, row, type Column } from './text.ts';

export type StatusSource = Pick<Runtime, 'status' | 'logs' | 'restart'>;

/** A command the `t` key runs in a terminal pane (the smoke flow: `dev test`). */
export interface PaneCommand {
  title: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
}

type View = { kind: 'table' } | { kind: 'logs'; service: string } | { kind: 'mail' } | { kind: 'run' };

const SERVICE_COLUMNS: Column[] = [
  { title: 'SERVICE', min: 13, max: 16 },
  { title: 'READY', min: 5, max: 5 },
  { title: 'STATE', min: 7, max: 24 },
  { title: 'RESTARTS', min: 3, max: 8 },
  { title: 'AGE', min: 5, max: 7 },
  { title: 'URL', min: 10, flex: true },
];

const APP_COLUMNS: Column[] = [
  { title: 'ORG', min: 6, max: 20 },
  { title: 'STATE', min: 7, max: 12 },
  { title: 'URL', min: 10, flex: true },
  { title: 'PID/CONTAINER', min: 6, max: 16 },
];

function stateColor(state: string, ready: boolean): string {
  if (ready) return 'green';
  if (state === 'crashed' || state === 'backoff') return 'red';
  if (state === 'stopped') return 'gray';
  return 'yellow';
}

function Key({ k, label }: { k: string; label: string }) {
  return (
    <Text>
      <Text color="cyan" bold>
        {k}
      </Text>
      <Text dimColor>{` ${label}  `}</Text>
    </Text>
  );
}

function Footer({ view, width }: { view: View; width: number }) {
  const keys: [string, string][] =
    view.kind === 'table'
      ? [['↑↓', 'select'], ['l', 'logs'], ['r', 'restart'], ['m', 'mail'], ['t', 'smoke test'], ['q', 'quit']]
      : view.kind === 'logs'
        ? [['↑↓', 'scroll'], ['PgUp/PgDn', 'page'], ['G', 'follow'], ['Esc', 'back'], ['q', 'quit']]
        : view.kind === 'mail'
          ? [['↑↓', 'select/scroll'], ['Enter', 'read'], ['Esc', 'back'], ['q', 'quit']]
          : [['Esc', 'back (stops it if running)'], ['q', 'quit']];
  return (
    <Box width={width} height={1} overflow="hidden">
      {keys.map(([k, label]) => (
        <Key key={k} k={k} label={label} />
      ))}
    </Box>
  );
}

/** The services and Scope apps tables; the selected service is highlighted. */
export function StatusTables({ status, selected, width, height, now }: { status: SystemStatus; selected: number; width: number; height: number; now: number }) {
  const rows = status.services.map((s) => [
    s.name,
    s.ready ? '●' : '○',
    s.message && !s.ready ? `${s.state}: ${s.message}` : s.state,
    String(s.restarts),
    age(s.startedAt, now),
    s.urls?.http ?? Object.values(s.urls ?? {})[0] ?? '-',
  ]);
  const widths = fitColumns(SERVICE_COLUMNS, rows, width - 2);
  const appRows = status.apps.map((a) => [a.org, a.state, a.url ?? '-', a.container ?? (a.pid !== undefined ? String(a.pid) : '-')]);
  const appWidths = fitColumns(APP_COLUMNS, appRows, width - 2);
  const appRoom = Math.max(1, height - rows.length - 4);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold>{`  ${row(SERVICE_COLUMNS.map((c) => c.title), widths)}`}</Text>
      {status.services.map((s, i) => {
        const cells = rows[i]!.map((c, j) => clip(c, widths[j]!).padEnd(widths[j]!));
        return (
          <Text key={s.name} inverse={i === selected} wrap="truncate-end">
            {i === selected ? '▸ ' : '  '}
            {cells[0]}
            {'  '}
            <Text color={stateColor(s.state, s.ready)}>{cells[1]}</Text>
            {'  '}
            <Text color={stateColor(s.state, s.ready)}>{cells[2]}</Text>
            {'  '}
            <Text color={s.restarts > 0 ? 'yellow' : undefined}>{cells[3]}</Text>
            {'  '}
            {cells[4]}
            {'  '}
            <Text color="blue">{cells[5]!.trimEnd()}</Text>
          </Text>
        );
      })}
      <Box marginTop={1}>
        <Text bold color="magenta">{`SCOPE APPS`}</Text>
        <Text dimColor>{status.apps.length ? ` ${status.apps.length} (one per organisation)` : ' none yet: one starts per organisation when its first probe reports'}</Text>
      </Box>
      {status.apps.length > 0 && <Text bold>{`  ${row(APP_COLUMNS.map((c) => c.title), appWidths)}`}</Text>}
      {appRows.slice(0, appRoom).map((r, i) => (
        <Text key={status.apps[i]!.org} wrap="truncate-end">{`  ${row(r, appWidths)}`}</Text>
      ))}
      {appRows.length > appRoom && <Text dimColor>{`  … ${appRows.length - appRoom} more`}</Text>}
    </Box>
  );
}

function RunPane({ command, width, height }: { command: PaneCommand; width: number; height: number }) {
  const [, setTick] = useState(0);
  const pane = useRef<PtyPane>(undefined);
  const [exit, setExit] = useState<number>();
  useEffect(() => {
    const p = startPtyPane({
      command: command.command,
      args: command.args,
      cols: Math.max(20, width),
      rows: Math.max(4, height - 1),
      env: command.env,
      onUpdate: () => setTick((n) => n + 1),
      onExit: setExit,
    });
    pane.current = p;
    return () => p.kill();
    // The pane is sized once when it starts; a resize afterwards is applied below.
  }, [command]);
  useEffect(() => pane.current?.resize(Math.max(20, width), Math.max(4, height - 1)), [width, height]);
  const lines = pane.current?.lines() ?? [];
  const shown = lines.slice(-Math.max(1, height - 1));
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box>
        <Text backgroundColor="green" color="black" bold>{` run `}</Text>
        <Text bold>{` ${clip(command.title, width - 24)} `}</Text>
        <Box flexGrow={1} />
        {exit === undefined ? <Text color="yellow">running</Text> : <Text color={exit === 0 ? 'green' : 'red'}>{`exited ${exit}`}</Text>}
      </Box>
      <Box flexDirection="column" height={Math.max(1, height - 1)} overflow="hidden">
        {shown.map((l, i) => (
          <Text key={i} wrap="truncate-end">
            {l || ' '}
          </Text>
        ))}
      </Box>
    </Box>
  );
}

export interface StatusAppProps {
  runtime: StatusSource;
  /** Shown before the first refresh answers. */
  initial: SystemStatus;
  refreshMs?: number;
  /** What `t` runs; without it the key does nothing. */
  testCommand?: PaneCommand;
}

/** `dev status` on a terminal: live tables, a service's log, the captured mail, restarts, the smoke test. */
export function StatusApp({ runtime, initial, refreshMs = 1000, testCommand }: StatusAppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [size, setSize] = useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [status, setStatus] = useState(initial);
  const [now, setNow] = useState(Date.now());
  const [view, setViewState] = useState<View>({ kind: 'table' });
  const viewRef = useRef(view);
  const setView = useCallback((v: View) => {
    viewRef.current = v;
    setViewState(v);
  }, []);
  const [selected, setSelected] = useState(0);
  const [note, setNote] = useState<{ text: string; color: string }>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!note) return;
    const t = setTimeout(() => setNote(undefined), 6000);
    return () => clearTimeout(t);
  }, [note]);

  useEffect(() => {
    const onResize = () => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);

  useEffect(() => {
    let last = JSON.stringify(initial);
    let busy = false;
    const t = setInterval(() => {
      // The age column moves once a second; the rest re-renders only when the runtime's answer changed.
      setNow(Math.floor(Date.now() / 1000) * 1000);
      if (busy) return;
      busy = true;
      runtime
        .status()
        .then((s) => {
          const key = JSON.stringify(s);
          if (key !== last) {
            last = key;
            setStatus(s);
          }
          setError(undefined);
        })
        .catch((err: Error) => setError(err.message))
        .finally(() => (busy = false));
    }, refreshMs);
    return () => clearInterval(t);
  }, [runtime, refreshMs, initial]);

  // Keys may come several to a read: the handler below moves the selection through this ref, not a stale closure.
  const selection = useRef(0);
  selection.current = Math.max(0, Math.min(selected, status.services.length - 1));
  const select = (n: number) => {
    selection.current = Math.max(0, Math.min(n, status.services.length - 1));
    setSelected(selection.current);
  };
  const back = useCallback(() => setView({ kind: 'table' }), [setView]);
  const logSource = useCallback<LogSource>(
    (onLine, signal) => (view.kind === 'logs' ? runtime.logs(view.service, onLine, { follow: true, tail: 200, signal }) : Promise.resolve()),
    [runtime, view],
  );

  useInput(perKey((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) {
      exit();
      return;
    }
    const view = viewRef.current;
    if (view.kind === 'run' && key.escape) setView({ kind: 'table' });
    if (view.kind !== 'table') return;
    const service = status.services[selection.current];
    if (key.downArrow || input === 'j') select(selection.current + 1);
    else if (key.upArrow || input === 'k') select(selection.current - 1);
    else if ((input === 'l' || key.return) && service) setView({ kind: 'logs', service: service.name });
    else if (input === 'm') {
      if (status.endpoints) setView({ kind: 'mail' });
      else setNote({ text: 'no mail capture: nothing is running', color: 'yellow' });
    } else if (input === 't' && testCommand) setView({ kind: 'run' });
    else if (input === 'r' && service) {
      const name = service.name;
      setNote({ text: `restarting ${name}…`, color: 'yellow' });
      runtime
        .restart(name)
        .then(() => setNote({ text: `restarted ${name}`, color: 'green' }))
        .catch((err: Error) => setNote({ text: `restart ${name} failed: ${err.message}`, color: 'red' }));
    }
  }));

  const width = Math.max(40, size.columns);
  const bodyHeight = Math.max(4, size.rows - 3);
  const ready = status.services.filter((s) => s.ready).length;
  const allReady = ready === status.services.length && ready > 0;
  return (
    <Box flexDirection="column" width={width} height={size.rows - 1}>
      <Box width={width}>
        <Text backgroundColor={allReady ? 'green' : 'yellow'} color="black" bold>{` dev status `}</Text>
        <Text bold>{` runtime ${status.runtime} `}</Text>
        <Text color={allReady ? 'green' : 'yellow'}>{`${ready}/${status.services.length} ready`}</Text>
        <Box flexGrow={1} />
        {error ? <Text color="red">{clip(`status failed: ${error}`, Math.max(10, width - 40))}</Text> : note ? <Text color={note.color}>{clip(note.text, Math.max(10, width - 40))}</Text> : status.endpoints ? <Text color="blue">{clip(status.endpoints.frontend, Math.max(10, width - 40))}</Text> : null}
      </Box>
      <Box height={bodyHeight} flexDirection="column" marginTop={1}>
        {view.kind === 'table' &&
          (status.services.length === 0 || (!status.up && status.services.every((s) => s.state === 'stopped')) ? (
            <Text color="yellow">{`nothing is running (runtime ${status.runtime}). Start it: dev up`}</Text>
          ) : (
            <StatusTables status={status} selected={Math.min(selected, status.services.length - 1)} width={width} height={bodyHeight} now={now} />
          ))}
        {view.kind === 'logs' && <LogPane title={view.service} source={logSource} width={width} height={bodyHeight} onBack={back} />}
        {view.kind === 'mail' && status.endpoints && <MailPane base={status.endpoints.mail} width={width} height={bodyHeight} onBack={back} />}
        {view.kind === 'run' && testCommand && <RunPane command={testCommand} width={width} height={bodyHeight} />}
      </Box>
      <Footer view={view} width={width} />
    </Box>
  );
}

/** Runs the interactive status view until q / Esc / Ctrl-C. */
export async function runStatusUi(options: StatusAppProps & { stdout: NodeJS.WriteStream; stdin: NodeJS.ReadStream }): Promise<void> {
  const { stdout, stdin, ...props } = options;
  // The alternate screen, as full-screen tools do: the shell's scrollback is left as it was on quit.
  const leave = () => stdout.write('\x1b[?1049l');
  stdout.write('\x1b[?1049h\x1b[H');
  process.once('exit', leave);
  try {
    const instance = render(<StatusApp {...props} />, { stdout, stdin, exitOnCtrlC: false, patchConsole: false, maxFps: 20 });
    await instance.waitUntilExit();
  } finally {
    process.off('exit', leave);
    leave();
  }
}
