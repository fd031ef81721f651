import { findMenuItem } from '../../common/restaurant/menu.ts';
import type { CheckName, DeliveryAddress, OrderItem } from '../../common/restaurant/order.ts';

/** What one check found: `skipped` when it does not apply to the order's channel. */
export interface CheckResult {
  check: CheckName;
  result: 'passed' | 'failed' | 'skipped';
  problems: string[];
}

/** Zip codes the restaurant delivers to start with one of these. */
const DELIVERY_ZIP_PREFIXES = ['100', '101', '102'] as const;

const PLACEHOLDER_NAMES = new Set([
  'test',
  'asdf',
  'qwerty',
  'xxx',
  'n/a',
  'na',
  'none',
  'null',
  'undefined',
  'anonymous',
  'customer',
]);

function outcome(check: CheckName, problems: string[]): CheckResult {
  return { check, result: problems.length === 0 ? 'passed' : 'failed', problems };
}

/** Online orders need a street with a house number, a city, and a five-digit zip inside the delivery area. */
export function checkAddress(channel: 'online' | 'onsite', address: DeliveryAddress | undefined): CheckResult {
  if (channel === 'onsite') return { check: 'address', result: 'skipped', problems: [] };
  if (!address) return outcome('address', ['an online order needs a delivery address']);
  const problems: string[] = [];
  const street = address.street.trim();
  if (!/\d/.test(street) || !/\p{L}{2,}/u.test(street))
    problems.push('street must have a house number and a street name');
  if (!/^\p{L}[\p{L}\p{M} .'-]{1,59}$/u.test(address.city.trim())) problems.push('city must be a place name');
  const zip = address.zip.trim();
  if (!/^\d{5}$/.test(zip)) problems.push('zip must be five digits');
  else if (!DELIVERY_ZIP_PREFIXES.some((prefix) => zip.startsWith(prefix)))
    problems.push(`zip ${zip} is outside the delivery area`);
  return outcome('address', problems);
}

/** A customer name is 2–60 characters of letters, spaces, dots, apostrophes and hyphens, and not a placeholder. */
export function checkName(name: string): CheckResult {
  const trimmed = name.trim().replace(/\s+/g, ' ');
  const letters = trimmed.match(/\p{L}/gu) ?? [];
  const problems: string[] = [];
  if (trimmed.length < 2 || trimmed.length > 60) problems.push('name must be 2 to 60 characters');
  else if (!/^[\p{L}\p{M} .'-]+$/u.test(trimmed))
    problems.push('name may only contain letters, spaces, dots, apostrophes and hyphens');
  else if (letters.length < 2) problems.push('name must contain at least two letters');
  else if (PLACEHOLDER_NAMES.has(trimmed.toLowerCase()) || new Set(letters.map((l) => l.toLowerCase())).size === 1) {
    problems.push('name looks like a placeholder');
  }
  return outcome('name', problems);
}

/** Every item must be on today's menu and in stock. */
export function checkInventory(items: OrderItem[]): CheckResult {
  const problems: string[] = [];
  for (const { menuItemId } of items) {
    const dish = findMenuItem(menuItemId);
    if (!dish) problems.push(`${menuItemId} is not on the menu`);
    else if (!dish.inStock) problems.push(`${menuItemId} is out of stock`);
  }
  return outcome('inventory', problems);
}
