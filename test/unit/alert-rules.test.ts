/**
 * The example alert rules and scrape configuration in deploy/prometheus stay true to the
 * metrics the processes export: every metric and label a rule selects exists, every rule
 * says how urgent it is, and the scrape targets are the processes' configured ports.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import yaml from 'js-yaml';
import { loadConfig, repoRoot } from '../../deploy/config.js';
import { collectProcessMetrics, registry } from '../../deploy/telemetry/metrics.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}

const dir = path.join(repoRoot, 'deploy', 'prometheus');
const rules = (yaml.load(readFileSync(path.join(dir, 'alerts.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

async function exported(): Promise<Map<string, string[]>> {
  collectProcessMetrics('api');
  const byName = new Map<string, string[]>();
  for (const m of await registry.getMetricsAsJSON()) {
    const labelNames = (registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [];
    byName.set(m.name, labelNames);
  }
  return byName;
}

test('every alert rule is complete: a name, an expression, a duration, a severity and a summary', () => {
  assert.ok(rules.length >= 8);
  for (const r of rules) {
    assert.match(r.alert, /^Kickcall[A-Za-z]+$/);
    assert.ok(r.expr.trim().length > 0, r.alert);
    assert.match(r.for ?? '', /^\d+[smh]$/, `${r.alert} needs a for: duration`);
    assert.ok(['page', 'ticket'].includes(r.labels?.severity ?? ''), `${r.alert} severity`);
    assert.ok(r.annotations?.summary, `${r.alert} summary`);
  }
  assert.equal(new Set(rules.map((r) => r.alert)).size, rules.length, 'alert names are unique');
});

test('alert rules select only metrics and labels the processes export', async () => {
  const metrics = await exported();
  for (const r of rules) {
    for (const match of r.expr.matchAll(/\b(kickcall_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
      const name = match[1]!.replace(/_(bucket|sum|count)$/, '');
      assert.ok(metrics.has(name), `${r.alert} uses ${match[1]}, which no process exports`);
      const selectors = [...(match[3] ?? '').matchAll(/([a-z_]+)\s*(=~|!=|!~|=)/g)].map((s) => s[1]!);
      for (const label of selectors.filter((l) => l !== 'le')) {
        assert.ok(metrics.get(name)!.includes(label), `${r.alert} selects ${name} by "${label}", a label it does not have`);
      }
    }
  }
});

test('the scrape configuration targets every process on its configured metrics port', () => {
  const config = loadConfig({ KICKCALL_STACK_DIR: path.join(repoRoot, '.stack'), LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 'x'.repeat(32) });
  const scrape = yaml.load(readFileSync(path.join(dir, 'prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  assert.deepEqual(scrape.rule_files, ['alerts.yml']);
  const targets = Object.fromEntries(scrape.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]));
  for (const [role, port] of Object.entries(config.telemetry.metricsPorts)) {
    assert.deepEqual(targets[`kickcall-${role}`], [`${config.host}:${port}`], role);
  }
});
