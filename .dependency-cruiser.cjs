/**
 * The layers the code keeps (DESIGN.md, "Rules the layout keeps"), checked by `npm run lint:deps`
 * as part of `npm test`.
 *
 * - No import cycles.
 * - The infrastructure (`db/`, `queue/`, `http/`) and the shared kernel (text safety, languages,
 *   configuration, logging, paths) import no feature: features build on them, never the reverse.
 * - Nothing in `src/` imports `workers/`: workers wire jobs defined in `src/`, not the other way;
 *   only the entry point (`src/main.ts`), which composes the web server and the workers, starts them.
 */
const FEATURES =
  '^src/(abuse|campaigns|delivery|letters|osdi|partners|petitions|privacy|representatives|staff|webhooks)/';
const BASE =
  '^src/(db|queue|http|text-safety|i18n|kernel)/|^src/(config|logger|paths|time-limit)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: the modules in it cannot be understood, tested or moved apart.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'base-imports-no-feature',
      severity: 'error',
      comment:
        'db/, queue/, http/ and the shared kernel sit below the features: they must not import one.',
      from: { path: BASE },
      to: { path: FEATURES },
    },
    {
      name: 'src-imports-no-worker',
      severity: 'error',
      comment: 'workers/ wires the jobs defined in src/; src/ does not reach back into it.',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^workers/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Packages' `exports` maps (csv-parse/sync), resolved as Node resolves them for require.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default'],
    },
  },
};
