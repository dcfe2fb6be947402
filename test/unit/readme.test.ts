/** The README is part of the product: its configuration table must list every variable the config parser reads. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../src/config';

describe('README', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  for (const variable of Object.keys(configSchema.shape)) {
    it(`documents ${variable} in the configuration table`, () => {
      const row = readme.split('\n').find((line) => line.startsWith('| ') && line.split('|')[1]!.includes(`\`${variable}\``));
      assert.ok(row, `no configuration-table row names ${variable}`);
    });
  }
});
