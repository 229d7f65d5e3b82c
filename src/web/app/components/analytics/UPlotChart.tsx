import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { type DayChart, maxValue } from '../../../analytics/series.ts';

const HEIGHT = 240;

const AXIS_LABEL: Record<DayChart['unit'], string> = { count: 'Sessions', percent: '%', seconds: 'Seconds' };

/** The page's palette (light or dark), read when a chart is made: a canvas cannot use CSS variables. */
function palette(): { text: string; grid: string } {
  const style = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return { text: read('--text', '#1c1c1a'), grid: read('--border', '#e2e1dc') };
}

function options(chart: DayChart, width: number, onDrawn: () => void): uPlot.Options {
  const theme = palette();
  const top = chart.unit === 'percent' ? 100 : maxValue(chart);
  return {
    width,
    height: HEIGHT,
    // Day keys are UTC midnights: a UTC axis labels each with its own calendar day.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true }, y: { range: () => [0, top * (chart.unit === 'percent' ? 1 : 1.1)] } },
    axes: [
      { stroke: theme.text, grid: { stroke: theme.grid }, ticks: { stroke: theme.grid } },
      {
        label: AXIS_LABEL[chart.unit],
        size: 50,
        stroke: theme.text,
        grid: { stroke: theme.grid },
        ticks: { stroke: theme.grid },
      },
    ],
    series: [
      { label: 'Day' },
      ...chart.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        points: { show: chart.x.length <= 45 },
        spanGaps: false,
      })),
    ],
    hooks: { draw: [onDrawn] },
  };
}

/**
 * One uPlot line chart (canvas; the numbers are in the table next to it, so the canvas is aria-hidden and
 * its figure is labelled). Redrawn when the data changes, resized with its container.
 */
export function UPlotChart({ chart }: { chart: DayChart }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const markDrawn = () => el.setAttribute('data-drawn', String(chart.x.length));
    const data: uPlot.AlignedData = [chart.x, ...chart.series.map((s) => s.values)];
    const plot = new uPlot(options(chart, Math.max(280, el.clientWidth), markDrawn), data, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: HEIGHT }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
      el.removeAttribute('data-drawn');
    };
  }, [chart]);
  const label = `${chart.title}: a line chart over ${chart.x.length} days; the numbers are in its table view.`;
  return (
    <div role="img" aria-label={label}>
      <div ref={box} className="uplot-box" data-testid={`chart-${chart.id}`} />
    </div>
  );
}
