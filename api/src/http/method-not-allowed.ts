import type { Hono } from 'hono';
import type { RouterRoute } from 'hono/types';

/** What is asked of the app: its routes and the router it dispatches with. */
type RoutedApp = Pick<Hono, 'routes' | 'router'>;

/**
 * The methods served at a path, asked of the app's own router: what a 405 lists in
 * `Allow` when a known path is asked for with another method (an unknown path stays a
 * 404). For each method some route is registered for, the router is asked what it
 * would dispatch to at this path; a match counts when it is a route of that method, not
 * only middleware (`ALL`). So the 405 cannot disagree with the routing: parameters,
 * wildcards and every other pattern are matched by Hono itself. GET routes serve HEAD
 * too, as Hono does. The method list is read on first use, when every route is in.
 */
export function allowedMethods(app: RoutedApp): (path: string) => string[] {
  let routes: Map<string, Set<RouterRoute>> | undefined;
  const byMethod = () => {
    const map = new Map<string, Set<RouterRoute>>();
    for (const r of app.routes) {
      if (r.method === 'ALL') continue;
      const set = map.get(r.method) ?? new Set<RouterRoute>();
      map.set(r.method, set.add(r));
    }
    return map;
  };
  return (path) => {
    routes ??= byMethod();
    const allowed = new Set<string>();
    for (const [method, ofMethod] of routes) {
      // The router stores each handler as [handler, its route] (hono-base's addRoute).
      const [matched] = app.router.match(method, path);
      if (!matched.some(([[, route]]) => ofMethod.has(route))) continue;
      allowed.add(method.toUpperCase());
      if (method.toUpperCase() === 'GET') allowed.add('HEAD');
    }
    return [...allowed].sort();
  };
}
