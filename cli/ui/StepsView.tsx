import { Box, Static, Text, useStdout } from 'ink';
import { totals, type Diagnosis, type NoticeState, type RunState, type StepState } from '../../cluster/events.ts';
import { formatLogLine } from '../render/plain.ts';
import { Elapsed, Spinner } from './Spinner.tsx';
import { clip, seconds } from './text.ts';

const TIME = 8;

function Icon({ step }: { step: StepState }) {
  switch (step.phase) {
    case 'running':
      return <Spinner />;
    case 'ok':
      return <Text color="green">✓</Text>;
    case 'failed':
      return <Text color="red">✗</Text>;
    case 'skipped':
      return <Text dimColor>–</Text>;
    case 'stopped':
      return <Text color="yellow">■</Text>;
    case 'pending':
      return <Text dimColor>·</Text>;
  }
}

function bar(fraction: number, width = 10): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)} ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

/** One step on one line: icon, title, what it is doing or did, time on the right. */
export function StepLine({ step, width }: { step: StepState; width: number }) {
  const titleWidth = Math.min(Math.max(20, Math.floor(width * 0.45)), step.title.length);
  const detailRoom = Math.max(0, width - 2 - titleWidth - 2 - TIME - 1);
  const progress = step.phase === 'running' && step.fraction !== undefined ? `${bar(step.fraction)} ` : '';
  const detail = step.phase === 'failed' ? '' : clip(`${progress}${step.detail ?? ''}`, detailRoom);
  return (
    <Box width={width}>
      <Icon step={step} />
      <Text> </Text>
      <Text bold={step.phase === 'running' || step.phase === 'failed'} color={step.phase === 'failed' ? 'red' : undefined} dimColor={step.phase === 'pending' || step.phase === 'skipped'}>
        {clip(step.title, titleWidth)}
      </Text>
      <Box flexGrow={1} marginLeft={2}>
        <Text dimColor wrap="truncate">{detail}</Text>
      </Box>
      <Box width={TIME} justifyContent="flex-end">
        {step.phase === 'running' && step.startedAt !== undefined ? <Elapsed since={step.startedAt} /> : <Text dimColor>{step.durationMs !== undefined ? seconds(step.durationMs) : ''}</Text>}
      </Box>
    </Box>
  );
}

/** A failure's diagnosis: what was expected, what came back, what to do, and the log lines that matter. */
export function DiagnosisView({ diagnosis, width }: { diagnosis: Diagnosis; width: number }) {
  const inner = Math.max(20, width - 4);
  return (
    <Box flexDirection="column" marginLeft={2} paddingLeft={1} borderStyle="bold" borderColor="red" borderTop={false} borderRight={false} borderBottom={false} width={width - 2}>
      <Text color="red">{diagnosis.summary}</Text>
      {diagnosis.expected !== undefined && (
        <Text>
          <Text dimColor>expected </Text>
          {diagnosis.expected}
        </Text>
      )}
      {diagnosis.actual !== undefined &&
        diagnosis.actual.split('\n').map((l, i) => (
          <Text key={`a${i}`}>
            <Text dimColor>{i === 0 ? 'got      ' : '         '}</Text>
            <Text color="yellow">{l}</Text>
          </Text>
        ))}
      {diagnosis.hint !== undefined && (
        <Text>
          <Text dimColor>hint     </Text>
          <Text color="cyan">{diagnosis.hint}</Text>
        </Text>
      )}
      {(diagnosis.logs ?? []).map((log) => (
        <Box key={log.source} flexDirection="column" marginTop={1}>
          <Text dimColor>{clip(`── ${log.source} · last ${log.lines.length} line${log.lines.length === 1 ? '' : 's'} ${'─'.repeat(inner)}`, inner)}</Text>
          {log.lines.length === 0 && <Text dimColor>(no log lines)</Text>}
          {log.lines.map((l, i) => (
            <LogText key={i} line={formatLogLine(l)} width={inner} wrap />
          ))}
        </Box>
      ))}
    </Box>
  );
}

/** A formatted log line, its level coloured. */
export function LogText({ line, width, wrap = false }: { line: string; width: number; wrap?: boolean }) {
  const m = /^(\d\d:\d\d:\d\d )(trace|debug|info |warn |error|fatal)(.*)$/.exec(line);
  const how = wrap ? 'wrap' : 'truncate-end';
  if (!m) return <Text wrap={how}>{clip(line, width * 4)}</Text>;
  const level = m[2]!;
  const color = level.startsWith('error') || level === 'fatal' ? 'red' : level.startsWith('warn') ? 'yellow' : level.startsWith('info') ? 'green' : 'gray';
  return (
    <Text wrap={how}>
      <Text dimColor>{m[1]}</Text>
      <Text color={color}>{level}</Text>
      {m[3]}
    </Text>
  );
}

function NoticeLine({ notice }: { notice: NoticeState }) {
  return (
    <Text wrap="truncate-end">
      <Text color={notice.level === 'warn' ? 'yellow' : 'blue'}>{notice.level === 'warn' ? '! ' : 'i '}</Text>
      {notice.message}
    </Text>
  );
}

/**
 * The live view of a command's steps. What has finished is printed once, in order, through Static (it scrolls
 * up like a log and is never redrawn); only the running and pending steps and the status line are redrawn.
 */
export function StepsView({ title, state, startedAt, ended }: { title: string; state: RunState; startedAt: number; ended?: number }) {
  const { stdout } = useStdout();
  const width = Math.max(40, (stdout.columns || 80) - 1);
  const live = state.steps.filter((s) => s.phase === 'running' || s.phase === 'pending' || s.phase === 'skipped' || s.phase === 'stopped');
  const { ok: done, failed, stopped, running } = totals(state);
  return (
    <>
      <Static items={state.finished}>
        {(item, i) =>
          'step' in item ? (
            <Box key={i} flexDirection="column">
              <StepLine step={item.step} width={width} />
              {item.step.diagnosis && <DiagnosisView diagnosis={item.step.diagnosis} width={width} />}
            </Box>
          ) : (
            <NoticeLine key={i} notice={item.notice} />
          )
        }
      </Static>
      <Box flexDirection="column">
        {live.map((s) => (
          <Box key={s.id} flexDirection="column">
            <StepLine step={s} width={width} />
            {s.phase === 'running' && running <= 4 && s.recent.length > 1 &&
              s.recent.slice(0, -1).map((l, i) => (
                <Text key={i} dimColor wrap="truncate-end">
                  {`    ${l}`}
                </Text>
              ))}
          </Box>
        ))}
        <Box marginTop={live.length ? 1 : 0} width={width}>
          {ended === undefined ? <Spinner color="magenta" /> : failed || stopped ? <Text color={failed ? 'red' : 'yellow'}>{failed ? '✗' : '■'}</Text> : <Text color="green">✓</Text>}
          <Text bold> {title}</Text>
          <Text dimColor>
            {`  ${done} done${running ? ` · ${running} running` : ''}`}
          </Text>
          {failed > 0 && <Text color="red">{` · ${failed} failed`}</Text>}
          {stopped > 0 && <Text color="yellow">{` · ${stopped} stopped`}</Text>}
          <Box flexGrow={1} />
          {ended === undefined ? <Elapsed since={startedAt} /> : <Text dimColor>{seconds(ended - startedAt)}</Text>}
        </Box>
      </Box>
    </>
  );
}
