/**
 * The shape of the code, checked on every `npm test` (test/architecture/dependencies.test.ts) and by
 * `npm run lint:deps`. See ARCHITECTURE.md for the picture these rules keep true.
 *
 * - lib/core is the domain: pure TypeScript + zod (node:crypto for hashes and secrets), no I/O, no adapter, host,
 *   infrastructure or Lambda code;
 * - lib/core has one folder per bounded context; a context is used only through its index.ts, by other contexts
 *   and by the hosts alike, and only the contexts below it (CONTEXT_LAYERS) may be used;
 * - the shared kernel at the root of lib/core (model, ports, errors, lifecycle ...) uses no context; only
 *   tasks.ts, the workflows' task registry, composes them;
 * - nothing under lib/ is part of an import circle;
 * - adapters never reach into a host (lib/local) or the CDK code (lib/infra).
 */

/** Each context, and the contexts it may use (through their index.ts). Listed bottom to top. */
const CONTEXT_LAYERS = {
  access: [],
  audit: [],
  intake: [],
  routing: ['audit', 'intake'],
  notices: ['audit', 'intake', 'routing'],
  verify: ['audit', 'intake', 'routing', 'notices'],
  answers: ['audit', 'intake', 'routing', 'notices', 'verify'],
  campaign: ['access', 'audit', 'intake', 'routing', 'notices', 'verify', 'answers'],
  reports: ['access', 'audit', 'intake', 'routing', 'notices', 'verify', 'answers'],
  feeds: ['access', 'audit', 'intake', 'routing', 'notices', 'verify', 'answers', 'campaign', 'reports'],
};
const CONTEXTS = Object.keys(CONTEXT_LAYERS);

// what lib/core may import from outside itself; Node's I/O modules (fs, net, http, dns, child_process ...) are not in it
const CORE_MAY_USE = ['^node_modules/zod/', '^(node:)?crypto$'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment: 'lib/core uses zod and node:crypto only: no I/O module, no other package. I/O goes through a port.',
      severity: 'error',
      from: { path: '^lib/core/' },
      to: { pathNot: ['^lib/core/', ...CORE_MAY_USE] },
    },
    {
      name: 'core-uses-no-outer-layer',
      comment: 'the domain never imports an adapter, a host, the CDK code, a Lambda file, a benchmark or a test',
      severity: 'error',
      from: { path: '^lib/core/' },
      to: { path: '^(lib/(adapters|local|infra)|lambdas|bin|bench|test)/' },
    },
    {
      name: 'contexts-meet-through-index',
      comment: "a context uses another only through that context's index.ts, its public face",
      severity: 'error',
      from: { path: '^lib/core/([^/]+)/' },
      to: { path: '^lib/core/[^/]+/', pathNot: ['^lib/core/$1/', '^lib/core/[^/]+/index\\.ts$'] },
    },
    {
      name: 'hosts-use-contexts-through-index',
      comment: "adapters, hosts, the CDK code, Lambdas and benchmarks use a context only through its index.ts",
      severity: 'error',
      from: { path: '^(lib/(adapters|local|infra)|lambdas|bin|bench)/' },
      to: { path: '^lib/core/[^/]+/', pathNot: '^lib/core/[^/]+/index\\.ts$' },
    },
    {
      name: 'kernel-uses-no-context',
      comment: 'the shared kernel (model, ports, errors, lifecycle ...) is below every context; only tasks.ts composes them',
      severity: 'error',
      from: { path: '^lib/core/[^/]+\\.ts$', pathNot: '^lib/core/tasks\\.ts$' },
      to: { path: '^lib/core/[^/]+/' },
    },
    ...CONTEXTS.map((context) => ({
      name: `context-layers-${context}`,
      comment: `${context} may use only ${CONTEXT_LAYERS[context].join(', ') || 'the shared kernel'}: the contexts above it depend on it, not the reverse`,
      severity: 'error',
      from: { path: `^lib/core/${context}/` },
      to: { path: '^lib/core/([^/]+)/', pathNot: [`^lib/core/${context}/`, ...CONTEXT_LAYERS[context].map((c) => `^lib/core/${c}/`)] },
    })),
    {
      name: 'no-circular',
      comment: 'no import circle anywhere under lib/ (type-only imports included)',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    {
      name: 'adapters-stay-out-of-hosts',
      comment: 'an adapter is wired by a host, never the reverse: adapters import no host and no CDK code',
      severity: 'error',
      from: { path: '^lib/adapters/' },
      to: { path: '^lib/(local|infra)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'an import that resolves to nothing would hide a dependency from every rule above',
      severity: 'error',
      from: { path: '^(lib|lambdas|bin|bench)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['node_modules', '^cdk\\.out/'] },
    // type-only imports count: a circle of types is still a circle for a reader
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'], exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], mainFields: ['module', 'main', 'types'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
// for the architecture test (not part of the configuration dependency-cruiser reads)
Object.defineProperty(module.exports, 'CONTEXT_LAYERS', { value: CONTEXT_LAYERS, enumerable: false });
