/**
 * The operator files under ops/ stay true to the code: every alert rule is complete (alert, expr, for,
 * labels.severity, annotations.summary), and every metric an alert or a dashboard panel names exists in Drason's
 * registry (src/lib/metrics.ts), or is Prometheus' own `up`, or one of the Temporal SDK's worker metrics (checked
 * against the SDK's real exporter by test/e2e/metrics.e2e.test.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { registry } from '../../src/lib/metrics';
import { TEMPORAL_SDK_METRICS } from '../support/observability';

const root = path.resolve(__dirname, '../..');

const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'rate', 'irate', 'increase', 'delta', 'absent', 'histogram_quantile', 'by', 'without', 'on',
  'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'topk', 'bottomk', 'clamp_min', 'clamp_max',
  'sum_over_time', 'max_over_time', 'min_over_time', 'avg_over_time', 'vector', 'scalar', 'time',
]);

/** The metric names a PromQL expression selects (no parser: label matchers, groupings, ranges and numbers removed). */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
  return [...new Set(names)];
}

/** Every series name Drason's registry exposes (histograms as _bucket, _sum and _count). */
async function drasonSeriesNames(): Promise<Set<string>> {
  const names = new Set<string>(['up', ...TEMPORAL_SDK_METRICS]);
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

interface Rule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown };
}

describe('ops files: alert rules and dashboard', () => {
  const rules: Rule[] = (parse(fs.readFileSync(path.join(root, 'ops/prometheus/alerts.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
  const dashboard = JSON.parse(fs.readFileSync(path.join(root, 'ops/grafana/drason-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };

  it('reads PromQL metric names right', () => {
    assert.deepEqual(metricNamesIn('histogram_quantile(0.95, sum by (le, stage) (rate(drason_relay_lag_seconds_bucket{stage="count"}[5m]))) > 60'), ['drason_relay_lag_seconds_bucket']);
    assert.deepEqual(metricNamesIn('sum(rate(a_total{x=~"b|c"}[10m])) / sum(rate(a_total[10m])) > 0.2 or absent(up)'), ['a_total', 'up']);
  });

  it('every alert rule has alert, expr, for, labels.severity and annotations.summary, and a unique name', () => {
    assert.ok(rules.length >= 10, `${rules.length} rules`);
    for (const rule of rules) {
      const name = String(rule.alert);
      assert.match(name, /^Drason[A-Za-z]+$/);
      assert.ok(typeof rule.expr === 'string' && rule.expr.trim() !== '', `${name}: expr`);
      assert.match(String(rule.for), /^\d+[smh]$/, `${name}: for`);
      assert.ok(['critical', 'warning', 'info'].includes(String(rule.labels?.severity)), `${name}: labels.severity`);
      assert.ok(typeof rule.annotations?.summary === 'string' && rule.annotations.summary !== '', `${name}: annotations.summary`);
    }
    assert.equal(new Set(rules.map((r) => r.alert)).size, rules.length, 'alert names are unique');
  });

  it('the alerts cover worker down, relay backlog and lag, escalation loops, Smartlead failures and credentials, database latency', () => {
    const exprs = rules.map((r) => String(r.expr)).join('\n');
    for (const needed of ['drason_relay_rounds_total', 'drason_relay_backlog', 'drason_relay_lag_seconds_bucket', 'automation_stopped', 'drason_smartlead_calls_total', 'drason_integrations_broken', 'drason_db_query_duration_seconds_bucket', 'up{']) {
      assert.ok(exprs.includes(needed), needed);
    }
  });

  it('every metric an alert names exists', async () => {
    const known = await drasonSeriesNames();
    const unknown = rules.flatMap((r) => metricNamesIn(String(r.expr)).filter((n) => !known.has(n)).map((n) => `${String(r.alert)}: ${n}`));
    assert.deepEqual(unknown, []);
  });

  it('every dashboard panel has a query, and every metric a panel names exists', async () => {
    const known = await drasonSeriesNames();
    assert.ok(dashboard.panels.length >= 15);
    const unknown: string[] = [];
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets.length > 0, panel.title);
      for (const target of panel.targets) {
        const names = metricNamesIn(target.expr);
        assert.ok(names.length > 0, `${panel.title}: ${target.expr}`);
        unknown.push(...names.filter((n) => !known.has(n)).map((n) => `${panel.title}: ${n}`));
      }
    }
    assert.deepEqual(unknown, []);
    // Every Drason metric is on the dashboard.
    const shown = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNamesIn(t.expr))));
    const missing = (await registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => n.startsWith('drason_') && ![n, `${n}_bucket`, `${n}_count`].some((s) => shown.has(s)));
    assert.deepEqual(missing.filter((n) => n !== 'drason_http_requests_total' && n !== 'drason_webhook_rejections_total'), []);
  });
});
