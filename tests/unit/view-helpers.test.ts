import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { viewHelpers } from '../../src/http/view-helpers';

/**
 * A mustache with a bare name calls the helper of that name before it looks at the data: a bill's
 * `{{number}}` printed the number helper's "0". A field named like a helper is written
 * `{{this.number}}`; the helper with its value, `{{number count}}`. (The SVG templates of
 * `views/graphics/` have an engine of their own, without these helpers.)
 */
const viewsDir = path.join(__dirname, '..', '..', 'views');
const views = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'graphics' ? [] : views(file);
    return name.endsWith('.hbs') ? [file] : [];
  });

describe('helpers in the views', () => {
  const names = Object.keys(viewHelpers).join('|');
  const bare = new RegExp(`\\{\\{\\{?~?\\s*(${names})\\s*~?\\}\\}`, 'g');

  it.each(views(viewsDir).map((file) => [path.relative(viewsDir, file), file]))(
    '%s never names a helper where it means a field',
    (_name, file) => {
      const found = [...readFileSync(file, 'utf8').matchAll(bare)].map(([match]) => match);
      expect(found).toEqual([]);
    },
  );

  it('finds the mistake it guards against', () => {
    expect('<h3>{{jurisdiction}} {{number}}</h3>'.match(bare)).toEqual(['{{number}}']);
    expect('<h3>{{this.number}} {{number count}}</h3>'.match(bare)).toBeNull();
  });
});
