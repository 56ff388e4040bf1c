// A horizontal bar chart in plain SVG (nothing fetched, nothing to load):
// each bar's label above it, its value at its end. A suppressed figure has
// no bar at all, only the hatched mark and the word: it is never drawn as 0.
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import type { Bar } from './labels';

const W = 320;
const ROW = 38;
const LABEL_W = 280;

export function BarChart({ title, bars }: { title: string; bars: Bar[] }) {
  const { t } = useTranslation();
  const id = useId();
  const max = Math.max(1, ...bars.map((b) => b.value ?? 0));
  const h = bars.length * ROW + 4;
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${h}`} role="img" aria-labelledby={id + 't'} aria-describedby={id + 'd'}>
      <title id={id + 't'}>{title}</title>
      <desc id={id + 'd'}>{t('stats.chartDesc')}</desc>
      <defs>
        <pattern id={id + 'h'} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
          <rect width="6" height="6" fill="#fff" />
          <line x1="0" y1="0" x2="0" y2="6" stroke="#505a5f" strokeWidth="3" />
        </pattern>
      </defs>
      {bars.map((b, i) => {
        const y = i * ROW;
        const label = b.label.length > 44 ? b.label.slice(0, 43) + '…' : b.label;
        if (b.suppressed || b.value == null) {
          return (
            <g key={i} data-suppressed="true">
              <text x="0" y={y + 12}>{label}</text>
              <rect x="0" y={y + 17} width="14" height="14" fill={`url(#${id}h)`} stroke="#505a5f" />
              <text x="20" y={y + 29} fontStyle="italic">{t('stats.suppressed')}</text>
            </g>
          );
        }
        const w = Math.max(1, Math.round((b.value / max) * (LABEL_W - 40)));
        return (
          <g key={i}>
            <text x="0" y={y + 12}>{label}</text>
            <rect x="0" y={y + 17} width={w} height="14" fill="#0b4f6c" />
            <text x={w + 6} y={y + 29}>{b.value}</text>
          </g>
        );
      })}
    </svg>
  );
}
