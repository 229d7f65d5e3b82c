import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { type DayChart, maxValue } from '../../../analytics/series.ts';

const HEIGHT = 240;

const AXIS_LABEL: Record<DayChart['unit'], string> = { count: 'Sessions', percent: '%', seconds: 'Seconds' };

function options(chart: DayChart, width: number, onDrawn: () => void): uPlot.Options {
  const top = chart.unit === 'percent' ? 100 : maxValue(chart);
  return {
    width,
    height: HEIGHT,
    // Day keys are UTC midnights: a UTC axis labels each with its own calendar day.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true }, y: { range: () => [0, top * (chart.unit === 'percent' ? 1 : 1.1)] } },
    axes: [{}, { label: AXIS_LABEL[chart.unit], size: 50 }],
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
