/**
 * `node cdk8s/dist/monitoring/cli.js rules`: the alert rules as a Prometheus rules file (what
 * `make observe` loads and `promtool check rules` checks). `dashboard`: the Grafana dashboard JSON.
 */
import { stringify } from 'yaml';
import { grafanaDashboard, ruleGroups } from './definitions.js';

const what = process.argv[2];
if (what === 'rules') process.stdout.write(stringify({ groups: ruleGroups() }, { lineWidth: 0 }));
else if (what === 'dashboard') process.stdout.write(`${JSON.stringify(grafanaDashboard(), null, 2)}\n`);
else {
  process.stderr.write('usage: node cdk8s/dist/monitoring/cli.js rules|dashboard\n');
  process.exit(2);
}
