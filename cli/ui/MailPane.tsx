import { Box, Text, useInput } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { addresses, getMail, listMails, mailBody, mailLinks, type Mail } from './mail.ts';
import { clip, fitColumns, perKey, row, wrapLine } from './text.ts';

function when(date: string | undefined): string {
  const t = Date.parse(date ?? '');
  return Number.isNaN(t) ? '' : new Date(t).toTimeString().slice(0, 8);
}

/** The captured mail: a list (newest first, refreshed), Enter reads one with its links numbered below. */
export function MailPane({ base, width, height, onBack, refreshMs = 2000 }: { base: string; width: number; height: number; onBack: () => void; refreshMs?: number }) {
  const [mails, setMails] = useState<Mail[]>();
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState(0);
  const [open, setOpen] = useState<Mail>();
  const [scroll, setScroll] = useState(0);

  useEffect(() => {
    let stop = false;
    let last: string | undefined;
    const load = () =>
      listMails(base)
        .then((m) => {
          const key = m.map((x) => x.id).join(',');
          if (!stop && key !== last) {
            last = key;
            setMails(m);
          }
          if (!stop) setError(undefined);
        })
        .catch((err: Error) => !stop && setError(err.message));
    void load();
    const t = setInterval(load, refreshMs);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [base, refreshMs]);

  const list = mails ?? [];
  const at = Math.min(selected, Math.max(0, list.length - 1));
  const body = Math.max(1, height - 2);
  // The key handler may still be the previous render's closure when a key follows a refresh.
  const count = useRef(list.length);
  const reading = useRef<string>(undefined);
  count.current = list.length;
  useInput(perKey((input, key) => {
    if (open) {
      if (key.escape || input === 'h' || key.leftArrow) {
        reading.current = undefined;
        setOpen(undefined);
        setScroll(0);
      } else if (key.downArrow || input === 'j') setScroll((s) => s + 1);
      else if (key.upArrow || input === 'k') setScroll((s) => Math.max(0, s - 1));
      else if (key.pageDown || input === ' ') setScroll((s) => s + body);
      else if (key.pageUp || input === 'b') setScroll((s) => Math.max(0, s - body));
      return;
    }
    if (key.escape || input === 'h' || key.leftArrow) onBack();
    else if (key.downArrow || input === 'j') setSelected((n) => Math.max(0, Math.min(count.current - 1, n + 1)));
    else if (key.upArrow || input === 'k') setSelected((n) => Math.max(0, Math.min(count.current - 1, n) - 1));
    else if ((key.return || key.rightArrow || input === 'l') && list[at]) {
      const summary = list[at]!;
      setOpen(summary);
      reading.current = summary.id;
      getMail(base, summary.id)
        // Only if that mail is still the one open (Esc may have closed it meanwhile).
        .then((full) => reading.current === summary.id && setOpen(full))
        .catch(() => undefined); // the listed copy is shown meanwhile, and stays on failure
    }
  }));

  if (open) {
    const links = mailLinks(open);
    // Links are wrapped, not cut: they are there to be copied.
    const lines: { text: string; link?: boolean }[] = [
      ...mailBody(open).flatMap((l) => wrapLine(l, width).map((text) => ({ text }))),
      { text: '' },
      ...(links.length
        ? [{ text: `links (${links.length}):` }, ...links.flatMap((l, i) => wrapLine(`[${i + 1}] ${l}`, width).map((text) => ({ text, link: true })))]
        : [{ text: '(no links)' }]),
    ];
    const room = Math.max(1, body - 4);
    const top = Math.min(scroll, Math.max(0, lines.length - room));
    return (
      <Box flexDirection="column" width={width} height={height}>
        <Box>
          <Text backgroundColor="magenta" color="white" bold>{` mail `}</Text>
          <Text bold>{` ${clip(open.subject ?? '(no subject)', width - 8)}`}</Text>
        </Box>
        <Text wrap="truncate-end">
          <Text dimColor>from </Text>
          {addresses(open.from)}
          <Text dimColor>  to </Text>
          {addresses(open.to)}
        </Text>
        <Text dimColor wrap="truncate-end">{`date ${open.date ?? ''}`}</Text>
        <Text dimColor>{'─'.repeat(Math.max(0, width))}</Text>
        <Box flexDirection="column" height={room} overflow="hidden">
          {lines.slice(top, top + room).map((l, i) => (
            <Text key={i} color={l.link ? 'cyan' : undefined} wrap="truncate-end">
              {l.text || ' '}
            </Text>
          ))}
        </Box>
        <Text dimColor>{`${Math.min(lines.length, top + room)}/${lines.length}`}</Text>
      </Box>
    );
  }

  const cols = [
    { title: 'TIME', min: 8, max: 8 },
    { title: 'TO', min: 10, max: 32 },
    { title: 'SUBJECT', min: 10, flex: true },
  ];
  const rows = list.map((m) => [when(m.date), addresses(m.to), m.subject ?? '(no subject)']);
  const widths = fitColumns(cols, rows, width - 2);
  const first = Math.max(0, Math.min(at - body + 2, list.length - (body - 1)));
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box>
        <Text backgroundColor="magenta" color="white" bold>{` mail `}</Text>
        <Text bold>{mails === undefined ? " " : ` ${list.length} captured`}</Text>
        <Box flexGrow={1} />
        <Text dimColor>{clip(base, Math.max(0, width - 24))}</Text>
      </Box>
      {error && <Text color="red" wrap="truncate-end">{`cannot reach the mail capture: ${error}`}</Text>}
      {mails === undefined && !error && <Text dimColor>loading…</Text>}
      {mails !== undefined && list.length === 0 && <Text dimColor>no mail yet (sign up on the frontend to get one)</Text>}
      {list.length > 0 && <Text bold>{`  ${row(cols.map((c) => c.title), widths)}`}</Text>}
      {rows.slice(first, first + body - 1).map((r, i) => {
        const index = first + i;
        return (
          <Text key={list[index]!.id} inverse={index === at} wrap="truncate-end">
            {`${index === at ? '▸ ' : '  '}${row(r, widths)}`}
          </Text>
        );
      })}
    </Box>
  );
}
