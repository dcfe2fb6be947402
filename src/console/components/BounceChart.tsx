/**
 * Hard-bounce and delivery-failure rate over time for one mailbox or domain (GET /v1/{mailboxes|domains}/:id/series),
 * drawn with uPlot. Buckets where nothing was sent have no rate (a gap, not a zero). The same numbers are in a table
 * under "Show the numbers" for screen readers and exact reading.
 */
import uPlot from 'uplot';
import { useEffect, useRef, useState } from 'preact/hooks';
import { request, seg } from '../api';
import { count, formatShortTime, percent } from '../format';
import type { EntityKind, Series } from '../types';
import { ErrorNote, Loading, RateTableHead, useLoad } from './common';

type ChartWindow = '24h' | '7d';

const COLLECTION: Record<EntityKind, string> = { mailbox: 'mailboxes', domain: 'domains' };
const HARD_BOUNCE_COLOR = '#c0392b';
const FAILURE_COLOR = '#1f6fb2';

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

function Plot({ series }: { series: Series }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const xs = series.points.map((p) => new Date(p.start).getTime() / 1000);
    const hard = series.points.map((p) => (p.hardBounceRate === null ? null : p.hardBounceRate * 100));
    const fail = series.points.map((p) => (p.failureRate === null ? null : p.failureRate * 100));
    const axisColor = cssVar('--pico-muted-color', '#555');
    const gridColor = cssVar('--pico-muted-border-color', '#ddd');
    const axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 } };
    const width = (): number => Math.max(260, el.clientWidth);
    const height = (): number => (el.clientWidth < 500 ? 220 : 280);
    // A bucket with sends between two without is a lone value: a line cannot show it, so it gets a dot.
    const lonely = (values: (number | null)[]): number[] =>
      values.flatMap((v, i) => (v !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null ? [i] : []));
    const points = (values: (number | null)[], color: string): uPlot.Series.Points =>
      series.points.length < 60 ? { show: true, fill: color } : { show: true, size: 6, fill: color, filter: () => lonely(values) };
    const options: uPlot.Options = {
      width: width(),
      height: height(),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil((max ?? 0) * 1.2))] } },
      axes: [
        { ...axis, space: 70 },
        { ...axis, label: 'Rate (%)', values: (_u, splits) => splits.map((s) => `${Number(s.toFixed(2))}%`), size: 60 },
      ],
      series: [
        {},
        { label: 'Hard-bounce rate', stroke: HARD_BOUNCE_COLOR, width: 2, spanGaps: false, points: points(hard, HARD_BOUNCE_COLOR) },
        { label: 'Delivery-failure rate', stroke: FAILURE_COLOR, width: 2, dash: [6, 4], spanGaps: false, points: points(fail, FAILURE_COLOR) },
      ],
    };
    const plot = new uPlot(options, [xs, hard, fail], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: height() }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series]);
  return <div ref={host} class="chart-canvas" aria-hidden="true" />;
}

function summary(series: Series): string {
  const sent = series.points.reduce((n, p) => n + p.sent, 0);
  const hard = series.points.reduce((n, p) => n + p.hardBounces, 0);
  const fail = series.points.reduce((n, p) => n + p.failures, 0);
  const worst = series.points.reduce<number | null>((m, p) => (p.hardBounceRate === null ? m : Math.max(m ?? 0, p.hardBounceRate)), null);
  if (sent === 0) return `Nothing was sent in the last ${series.window}.`;
  return (
    `Over the last ${series.window}: ${count(sent)} sent, ${count(hard)} hard bounces (${percent(hard / sent)}), ` +
    `${count(fail)} delivery failures (${percent(fail / sent)}); the worst ${series.bucketMinutes}-minute bucket had a hard-bounce rate of ${percent(worst)}.`
  );
}

export function BounceChart({ kind, id }: { kind: EntityKind; id: string }) {
  const [span, setSpan] = useState<ChartWindow>('24h');
  const loaded = useLoad(() => request<Series>(`/v1/${COLLECTION[kind]}/${seg(id)}/series?window=${span}`), [kind, id, span]);
  const series = loaded.data;
  return (
    <section class="chart" data-testid="chart" aria-labelledby="chart-title">
      <div class="chart-head">
        <h2 id="chart-title">Bounce rate over time</h2>
        <div role="group" aria-label="Time window" class="window-toggle">
          {(['24h', '7d'] as const).map((w) => (
            <button
              key={w}
              type="button"
              class={w === span ? '' : 'outline secondary'}
              aria-pressed={w === span ? 'true' : 'false'}
              data-testid={`chart-window-${w}`}
              onClick={() => setSpan(w)}
            >
              Last {w === '24h' ? '24 hours' : '7 days'}
            </button>
          ))}
        </div>
      </div>
      {series === undefined || series.window !== span ? (
        loaded.error !== undefined ? (
          <ErrorNote error={loaded.error} onRetry={loaded.reload} />
        ) : (
          <Loading what="the chart" />
        )
      ) : (
        <>
          <p class="chart-summary" data-testid="chart-summary">
            {summary(series)}
          </p>
          <ul class="chart-legend" aria-hidden="true">
            <li>
              <span class="swatch swatch-hard" /> Hard-bounce rate
            </li>
            <li>
              <span class="swatch swatch-failure" /> Delivery-failure rate
            </li>
          </ul>
          <figure class="chart-figure">
            <Plot series={series} />
            <figcaption class="visually-hidden">
              Line chart of the hard-bounce and delivery-failure rates per {series.bucketMinutes}-minute bucket; the table below has the same numbers.
            </figcaption>
          </figure>
          <details>
            <summary>Show the numbers</summary>
            <div class="table-scroll" tabIndex={0} role="region" aria-label="Bounce rate per bucket">
              <table class="striped">
                <RateTableHead first="Bucket start" />
                <tbody>
                  {series.points.every((p) => p.sent === 0 && p.hardBounces === 0 && p.failures === 0) ? (
                    <tr>
                      <td colSpan={6}>Nothing was sent in this window.</td>
                    </tr>
                  ) : null}
                  {series.points
                    .filter((p) => p.sent > 0 || p.hardBounces > 0 || p.failures > 0)
                    .map((p) => (
                      <tr key={p.start}>
                        <td>{formatShortTime(new Date(p.start))}</td>
                        <td>{count(p.sent)}</td>
                        <td>{count(p.hardBounces)}</td>
                        <td>{percent(p.hardBounceRate)}</td>
                        <td>{count(p.failures)}</td>
                        <td>{percent(p.failureRate)}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </section>
  );
}
