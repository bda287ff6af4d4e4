/**
 * `npm run stack:up [-- names] | stack:down [-- names] | stack:status | stack:logs -- <component> [lines]`
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadConfig } from '../config.js';
import { createComponents } from './components.js';
import { InvalidInputError } from '../../workflows/errors.js';
import { StackError, stackDown, stackStatus, stackUp } from './stack.js';

const usage = 'usage: stack.ts up [component...] | down [component...] | status [--json] | logs <component> [lines] [--follow]';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const t0 = Date.now();
      console.log('Starting the Kickcall local stack');
      try {
        const config = await stackUp(console.log, rest);
        console.log(`Stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s. Temporal UI: ${config.temporal.uiUrl}`);
        return 0;
      } catch (err) {
        if (err instanceof StackError) return 1;
        throw err;
      }
    }
    case 'down':
      console.log('Stopping the Kickcall local stack');
      try {
        await stackDown(console.log, undefined, rest);
      } catch (err) {
        if (err instanceof InvalidInputError) {
          console.error(err.message);
          return 2;
        }
        throw err;
      }
      return 0;
    case 'status': {
      const statuses = await stackStatus();
      if (rest.includes('--json')) {
        console.log(JSON.stringify(statuses, null, 2));
      } else {
        for (const s of statuses) {
          const mark = s.healthy ? '✓ healthy  ' : s.running ? '✗ unhealthy' : '· stopped  ';
          console.log(`${mark} ${s.name.padEnd(15)} ${s.version.padEnd(10)} ${s.endpoints.join('  ')}`);
          if (s.problem) console.log(`              ${s.problem}`);
          console.log(`              log: ${s.logFile}`);
        }
      }
      return statuses.every((s) => s.healthy) ? 0 : 1;
    }
    case 'logs': {
      const [name, linesArg] = rest.filter((a) => !a.startsWith('--'));
      const components = createComponents(loadConfig(process.env, { requireSecrets: false }));
      const component = components.find((c) => c.name === name);
      if (!component) {
        console.error(`unknown component ${JSON.stringify(name)}; one of: ${components.map((c) => c.name).join(', ')}`);
        return 2;
      }
      if (!existsSync(component.logFile)) {
        console.error(`${component.name} has no log yet (${component.logFile})`);
        return 1;
      }
      const lines = Number(linesArg ?? 100);
      if (!Number.isInteger(lines) || lines <= 0) {
        console.error(`lines must be a positive whole number, got ${JSON.stringify(linesArg)}`);
        return 2;
      }
      const args = ['-n', String(lines), ...(rest.includes('--follow') ? ['-F'] : []), component.logFile];
      console.error(`==> ${component.logFile}`);
      return new Promise((resolve) => spawn('tail', args, { stdio: 'inherit' }).on('exit', (code) => resolve(code ?? 0)));
    }
    default:
      console.error(usage);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
