/** One dish the restaurant serves; `inStock: false` dishes are on the menu but cannot be ordered today. */
export interface MenuItem {
  id: string;
  name: string;
  priceCents: number;
  inStock: boolean;
}

/** Today's menu. Order items name dishes by `id`; the inventory check rejects anything else. */
export const MENU: readonly MenuItem[] = [
  { id: 'tuna-nigiri', name: 'Tuna nigiri (2 pcs)', priceCents: 650, inStock: true },
  { id: 'salmon-nigiri', name: 'Salmon nigiri (2 pcs)', priceCents: 600, inStock: true },
  { id: 'ebi-nigiri', name: 'Shrimp nigiri (2 pcs)', priceCents: 550, inStock: true },
  { id: 'spicy-tuna-roll', name: 'Spicy tuna roll', priceCents: 900, inStock: true },
  { id: 'california-roll', name: 'California roll', priceCents: 800, inStock: true },
  { id: 'salmon-avocado-roll', name: 'Salmon avocado roll', priceCents: 850, inStock: true },
  { id: 'tuna-sashimi', name: 'Tuna sashimi (5 pcs)', priceCents: 1400, inStock: true },
  { id: 'unagi-don', name: 'Grilled eel rice bowl', priceCents: 1600, inStock: true },
  { id: 'miso-soup', name: 'Miso soup', priceCents: 350, inStock: true },
  { id: 'edamame', name: 'Edamame', priceCents: 400, inStock: true },
  { id: 'otoro-nigiri', name: 'Fatty tuna nigiri (2 pcs)', priceCents: 1800, inStock: false },
];

const byId = new Map(MENU.map((item) => [item.id, item]));

/** The menu item with this id, if the restaurant serves it. */
export function findMenuItem(id: string): MenuItem | undefined {
  return byId.get(id);
}
