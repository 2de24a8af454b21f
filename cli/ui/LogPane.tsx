import { Box, Text, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { formatLogLine } from '../render/plain.ts';
import { LogText } from './StepsView.tsx';
import { clip, perKey } from './text.ts';

const KEEP = 5000;

export type LogSource = (onLine: (line: string) => void, signal: AbortSignal) => Promise<void>;

/**
 * A service's log, followed: pino JSON made readable, the newest at the bottom. ↑/↓, PgUp/PgDn scroll back
 * (following pauses), End/G returns to the tail.
 */
export function LogPane({ title, source, width, height, onBack }: { title: string; source: LogSource; width: number; height: number; onBack: () => void }) {
  const [lines, setLines] = useState<string[]>([]);
  const [offset, setOffset] = useState(0); // lines scrolled up from the tail
  const [error, setError] = useState<string>();
  const [ended, setEnded] = useState(false);
  const buffer = useRef<string[]>([]);

  useEffect(() => {
    const controller = new AbortController();
    // Lines are gathered and shown in batches, so a chatty service costs one render per tick, not per line.
    const flush = setInterval(() => {
      if (buffer.current.length === 0) return;
      const more = buffer.current.map(formatLogLine);
      buffer.current = [];
      setLines((old) => [...old, ...more].slice(-KEEP));
    }, 100);
    source((l) => buffer.current.push(l), controller.signal)
      .then(() => setEnded(true))
      .catch((err: Error) => {
        if (!controller.signal.aborted) setError(err.message);
      });
    return () => {
      controller.abort();
      clearInterval(flush);
    };
  }, [source]);

  const body = Math.max(1, height - 2);
  const maxOffset = Math.max(0, lines.length - body);
  const at = Math.min(offset, maxOffset);
  // Read by the key handler, which may still be the previous render's closure when a key follows new lines.
  const limit = useRef(maxOffset);
  limit.current = maxOffset;
  const scroll = (by: number | 'top' | 'tail') =>
    setOffset((o) => {
      const from = Math.min(o, limit.current);
      return by === 'top' ? limit.current : by === 'tail' ? 0 : Math.max(0, Math.min(limit.current, from + by));
    });
  useInput(perKey((input, key) => {
    if (key.escape || input === 'h' || key.leftArrow) onBack();
    else if (key.upArrow || input === 'k') scroll(1);
    else if (key.downArrow || input === 'j') scroll(-1);
    else if (key.pageUp || input === 'b') scroll(body);
    else if (key.pageDown || input === ' ') scroll(-body);
    else if (input === 'g' || key.home) scroll('top');
    else if (input === 'G' || key.end) scroll('tail');
  }));

  const shown = lines.slice(Math.max(0, lines.length - body - at), lines.length - at);
  const where = at === 0 ? (ended ? 'end of log' : 'following') : `${at} line${at === 1 ? '' : 's'} up · G to follow`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box>
        <Text backgroundColor="blue" color="white" bold>{` logs `}</Text>
        <Text bold>{` ${clip(title, width - 30)} `}</Text>
        <Box flexGrow={1} />
        <Text color={at === 0 && !ended ? 'green' : 'yellow'}>{where}</Text>
      </Box>
      <Box flexDirection="column" height={body} overflow="hidden">
        {error && <Text color="red">{clip(`cannot read the log: ${error}`, width)}</Text>}
        {!error && lines.length === 0 && <Text dimColor>{ended ? '(no log lines)' : 'waiting for log lines…'}</Text>}
        {shown.map((l, i) => (
          <LogText key={lines.length - at - shown.length + i} line={l} width={width} />
        ))}
      </Box>
      <Text dimColor wrap="truncate-end">{`${lines.length} lines`}</Text>
    </Box>
  );
}
