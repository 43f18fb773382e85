import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ChaosState } from '../chaos/chaos-state.js';
import { requireAdminToken } from '../http/admin-auth.js';
import type { AppEnv } from '../http/app-env.js';
import { jsonBody } from '../http/json-body.js';
import { problems } from '../http/schemas.js';
import { validationHook } from '../http/validation-hook.js';

const SettingsSchema = z
  .object({
    dbLatencyMs: z.number().int().min(0).max(30_000),
    dbDown: z.boolean(),
    cacheDown: z.boolean(),
    brokerDown: z.boolean(),
  })
  .openapi('ChaosSettings');

const ChangeSchema = SettingsSchema.partial().strict().openapi('ChaosChange');
const StateSchema = SettingsSchema.extend({ instance: z.string() }).openapi('ChaosState');
const secured = { security: [{ AdminBearer: [] }] };

/**
 * The chaos control of one replica (only with CHAOS_ENABLED and ADMIN_TOKEN): fake a slow
 * or dead database, a dead cache or a dead broker for this process, and reset to healthy.
 */
export function chaosRoutes(deps: { chaos: ChaosState; token: string; instance: string }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use('/admin/chaos', requireAdminToken(deps.token));
  app.use('/admin/chaos/*', requireAdminToken(deps.token));
  const state = () => ({ ...deps.chaos.settings, instance: deps.instance });
  const ok = {
    200: {
      description: 'The settings now in force on this replica',
      content: { 'application/json': { schema: StateSchema } },
    },
    ...problems(401, 403),
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/admin/chaos',
      tags: ['chaos'],
      summary: 'Current chaos settings of this replica',
      ...secured,
      responses: ok,
    }),
    (c) => c.json(state(), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/admin/chaos',
      tags: ['chaos'],
      summary: 'Change chaos settings of this replica',
      ...secured,
      middleware: jsonBody(1_024),
      request: { body: { required: true, content: { 'application/json': { schema: ChangeSchema } } } },
      responses: { ...ok, ...problems(400, 413, 415) },
    }),
    (c) => {
      const change = c.req.valid('json');
      deps.chaos.update(change);
      c.env.log.warn({ event: 'chaos.changed', ...deps.chaos.settings }, 'chaos settings changed');
      return c.json(state(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/admin/chaos/reset',
      tags: ['chaos'],
      summary: 'Back to healthy',
      ...secured,
      responses: ok,
    }),
    (c) => {
      deps.chaos.reset();
      c.env.log.info({ event: 'chaos.reset' }, 'chaos reset, replica healthy');
      return c.json(state(), 200);
    },
  );
  return app;
}
