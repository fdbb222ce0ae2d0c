import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { knownVariables } from '../../src/config';
import { projectRoot } from '../../src/paths';

const read = (file: string) => readFileSync(path.join(projectRoot, file), 'utf8');

describe('configuration is documented and used consistently', () => {
  it('docker-compose.yml sets only variables that src/config.ts knows, on every platform service', () => {
    const compose = parseDocument(read('docker-compose.yml'), { merge: true }).toJS() as {
      services: Record<
        string,
        { build?: unknown; environment?: Record<string, unknown> | string[] }
      >;
    };
    const platformServices = Object.entries(compose.services).filter(
      ([, service]) => service.build,
    );
    expect(platformServices.map(([name]) => name).sort()).toEqual(['web', 'worker']);
    for (const [, service] of platformServices) {
      const env = service.environment ?? {};
      const names = Array.isArray(env)
        ? env.map((entry) => entry.split('=')[0]!)
        : Object.keys(env);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((name) => !knownVariables.includes(name))).toEqual([]);
      expect(names).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'APP_SECRET']));
    }
  });

  it('README and .env.example list every variable', () => {
    const readme = read('README.md');
    const example = read('.env.example');
    for (const name of knownVariables) {
      expect(readme).toContain(`\`${name}\``);
      expect(example).toContain(`${name}=`);
    }
  });
});
