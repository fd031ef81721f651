import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { MENU } from '../../common/restaurant/menu.ts';

const MenuResponse = Type.Array(
  Type.Object({ id: Type.String(), name: Type.String(), priceCents: Type.Integer(), inStock: Type.Boolean() }),
);

/** Today's menu: the dish ids an order may name. */
export const menuRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/menu',
    { schema: { tags: ['menu'], summary: "Today's menu", response: { 200: MenuResponse } } },
    async () => [...MENU],
  );
};
