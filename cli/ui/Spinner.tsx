import { Text } from 'ink';
import { useEffect, useState } from 'react';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A braille spinner; ticks only while mounted, so a finished step stops re-rendering. */
export function Spinner({ color = 'cyan' }: { color?: string }) {
  const [i, setI] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setI((n) => (n + 1) % FRAMES.length), 120);
    return () => clearInterval(t);
  }, []);
  return <Text color={color}>{FRAMES[i]}</Text>;
}

/** Seconds since start, ticking while mounted. */
export function Elapsed({ since, now: fixed }: { since: number; now?: number }) {
  const [now, setNow] = useState(fixed ?? Date.now());
  useEffect(() => {
    if (fixed !== undefined) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [fixed]);
  return <Text dimColor>{`${(Math.max(0, now - since) / 1000).toFixed(1)}s`}</Text>;
}
