/** A duration for tables: "2.90 s", "412.3 ms". */
export const formatMs = (value: number) =>
  value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;

/** A share, the same wherever it is shown: "73%", and one decimal under ten per cent: "7.3%", "0.4%". */
export function formatShare(value: number): string {
  const percent = value * 100;
  return `${percent >= 9.95 || percent === 0 ? Math.round(percent) : percent.toFixed(1)}%`;
}

/** The relative change from `before` to `after`, signed with a true minus: "−86%", "+12%", "±0%"; "new" from zero. */
export function formatChange(before: number, after: number): string {
  if (before === 0) return after === 0 ? '±0%' : 'new';
  const change = Math.round(((after - before) / before) * 100);
  return change === 0 ? '±0%' : change > 0 ? `+${change}%` : `−${-change}%`;
}

/** A wait as people say it: "95 s", "2.9 s", "340 ms". */
export const spokenDuration = (ms: number) =>
  ms >= 10_000 ? `${Math.round(ms / 1000)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
