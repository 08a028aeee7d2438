import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

// A uPlot time series. The instance is kept on its element (`uplot`), where the browser tests read
// the data it draws. uPlot does not resize by itself: a ResizeObserver gives it its box's width.
// A canvas knows no CSS variables: the axes take the text colour in force at each drawing, and
// the chart redraws when the theme changes.

/** The event main.tsx sends when the theme changes. */
export const themeChanged = 'skuld-theme';

const ink = (u: uPlot) => getComputedStyle(u.root).color;

export interface Series {
  readonly label: string;
  readonly color: string;
}

export type ChartElement = HTMLDivElement & { uplot?: uPlot };

export function TimeChart(props: {
  name: string;
  series: readonly Series[];
  data: uPlot.AlignedData;
  unit: string;
  height?: number;
}) {
  const box = useRef<ChartElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height: props.height ?? 180,
      legend: { show: true },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: ink, space: 70, grid: { stroke: 'rgba(128,128,128,0.2)' } },
        { stroke: ink, grid: { stroke: 'rgba(128,128,128,0.2)' }, label: props.unit, size: 60 },
      ],
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
    };
    const chart = new uPlot(options, props.data, element);
    plot.current = chart;
    element.uplot = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(element.clientWidth, 200), height: props.height ?? 180 }),
    );
    resize.observe(element);
    const redraw = () => chart.redraw(false);
    const scheme = matchMedia('(prefers-color-scheme: dark)');
    addEventListener(themeChanged, redraw);
    scheme.addEventListener('change', redraw);
    return () => {
      removeEventListener(themeChanged, redraw);
      scheme.removeEventListener('change', redraw);
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The chart is made once per set of series; its data changes below.
  }, [props.series.map((s) => s.label).join()]);
  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);
  return <div class="chart" data-chart={props.name} ref={box} />;
}
