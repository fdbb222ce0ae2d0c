import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * What every view must keep, read from the templates themselves (the browser suite checks the
 * pages they make): each field's error message has an id, and the field it is about points to it
 * (`aria-describedby`), so a screen reader reads the message with the field, on public and staff
 * forms alike.
 */
const viewsDir = path.join(__dirname, '..', '..', 'views');
const views = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? views(file) : name.endsWith('.hbs') ? [file] : [];
  });

/**
 * The CAPTCHA's message (`error-captcha`, with a suffix where a page has several) is about the
 * provider's widget, which is not ours to label; it sits in the field's own box.
 */
const NOT_A_FIELD = /^error-captcha\b/;

describe('field errors in the views', () => {
  const files = views(viewsDir);

  it.each(files.map((file) => [path.relative(viewsDir, file), file]))(
    '%s gives each message an id its field points to',
    (_name, file) => {
      const text = readFileSync(file, 'utf8');
      const messages = [...text.matchAll(/<p class="field-error"([^>]*)>/g)];
      const anonymous = messages.filter(([, attributes]) => !/\bid="[^"]+"/.test(attributes!));
      expect(anonymous.map(([tag]) => tag)).toEqual([]);
      const ids = messages
        .map(([, attributes]) => /\bid="([^"]+)"/.exec(attributes!)![1]!)
        .filter((id) => !NOT_A_FIELD.test(id));
      const unreferenced = ids.filter(
        (id) => !new RegExp(`aria-describedby="[^"]*\\b${id}\\b`).test(text),
      );
      expect(unreferenced).toEqual([]);
    },
  );
});
