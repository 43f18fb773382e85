/** A route as Hono lists it (`app.routes`): middleware is registered for the method `ALL`. */
interface RouteEntry {
  method: string;
  path: string;
}

/** `/events/:eventId/purchases` → a RegExp of the paths it serves. */
function pathPattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) return '[^/]+';
      if (segment === '*') return '.*';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * The methods served at a path, from the app's routes: what a 405 lists in `Allow` when
 * a known path is asked for with another method (an unknown path stays a 404). GET
 * routes serve HEAD too, as Hono does. Built once, on first use, when every route is in.
 */
export function allowedMethods(routes: () => readonly RouteEntry[]): (path: string) => string[] {
  let table: { pattern: RegExp; methods: Set<string> }[] | undefined;
  const build = () => {
    const byPath = new Map<string, Set<string>>();
    for (const r of routes()) {
      if (r.method === 'ALL') continue;
      const methods = byPath.get(r.path) ?? new Set<string>();
      methods.add(r.method.toUpperCase());
      if (r.method.toUpperCase() === 'GET') methods.add('HEAD');
      byPath.set(r.path, methods);
    }
    return [...byPath].map(([path, methods]) => ({ pattern: pathPattern(path), methods }));
  };
  return (path) => {
    table ??= build();
    const allowed = new Set<string>();
    for (const t of table) if (t.pattern.test(path)) for (const m of t.methods) allowed.add(m);
    return [...allowed].sort();
  };
}
