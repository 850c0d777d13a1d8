// CNaught's official Node SDK against the sandbox: `node client.mjs PORT` runs one call per SDK method and
// prints {name: {ok: result} | {error: {status, type, title, errors}}} as JSON for test_node_sdk.py.
// The SDK always builds https URLs (only hostname and port can be overridden); its documented `fetch`
// option is the one seam that lets it speak plain http to a local stand-in.
import { CNaughtApiClient } from '@cnaught/cnaught-node-sdk';

const port = Number(process.argv[2]);
const plainHttp = (url, init) => fetch(String(url).replace(/^https:/, 'http:'), init);
const client = (key) => new CNaughtApiClient(key, { hostname: '127.0.0.1', port, fetch: plainHttp });
const sdk = client('any-key-a-newcomer-types');
const results = {};

async function call(name, promise) {
  try {
    results[name] = { ok: (await promise) ?? null };
  } catch (e) {
    const p = e.problemDetails ?? {};
    results[name] = { error: { status: e.status, type: p.type, title: e.message, errors: p.errors } };
  }
  return results[name].ok;
}

const order = await call('placeGenericOrder', sdk.placeGenericOrder({ amount_kg: 10, description: 'sdk' }, { idempotencyKey: 'k-1' }));
await call('replay', sdk.placeGenericOrder({ amount_kg: 10, description: 'sdk' }, { idempotencyKey: 'k-1' }));
await call('changedPayload', sdk.placeGenericOrder({ amount_kg: 11 }, { idempotencyKey: 'k-1' }));
await call('invalid', sdk.placeGenericOrder({ amount_kg: -10 }));
await call('byPrice', sdk.placeGenericOrder({ total_price_usd_cents: 3190 }));
await call('getOrderDetails', sdk.getOrderDetails(order.id));
await call('missingOrder', sdk.getOrderDetails('nope'));
await call('getListOfOrders', sdk.getListOfOrders(1));
await call('nextPage', sdk.getListOfOrders(1, results.getListOfOrders.ok.data[0].id));
await call('cancelOrder', sdk.cancelOrder(order.id, { idempotencyKey: 'c-1' }));
await call('placeRideOrder', sdk.placeRideOrder({ distance_km: 30 }));
await call('getGenericQuote', sdk.getGenericQuote({ amount_kg: 10 }));
await call('getAirFreightQuote', sdk.getAirFreightQuote({ freight_mass_kg: 10, distance_km: 100 }));
await call('getFlightQuote', sdk.getFlightQuote({ distance_km: 100 }));
await call('getGroundFreightQuote', sdk.getGroundFreightQuote({ freight_mass_kg: 100, distance_km: 1000 }));
await call('getGroundTransportQuote', sdk.getGroundTransportQuote({ distance_km: 1000, vehicle_type: 'school_bus' }));
await call('getOfficeSpaceQuote', sdk.getOfficeSpaceQuote({ square_footage: 1000 }));
await call('getTrainQuote', sdk.getTrainQuote({ distance_km: 1000 }));
await call('getRideQuote', sdk.getRideQuote({ distance_km: 30 }));
const sub = await call('createSubaccount', sdk.createSubaccount({ name: 'Traveller', email: 't@example.com' }, { idempotencyKey: 's-1' }));
await call('updateSubaccount', sdk.updateSubaccount(sub.id, { name: 'Renamed' }));
await call('updateSubaccountLogoFromUrl', sdk.updateSubaccountLogoFromUrl(sub.id, { logo_url: 'https://example.com/l.png' }));
await call('updateSubaccountLogoFromImageData', sdk.updateSubaccountLogoFromImageData(sub.id, { logo_file_content: new Uint8Array([137, 80, 78, 71]), content_type: 'image/png' }));
await call('removeSubaccountLogo', sdk.removeSubaccountLogo(sub.id));
await call('getSubaccountDetails', sdk.getSubaccountDetails(sub.id));
await call('getListOfSubaccounts', sdk.getListOfSubaccounts(5));
await call('subaccountOrder', sdk.placeGenericOrder({ amount_kg: 3 }, { subaccountId: sub.id }));
await call('subaccountOrders', sdk.getListOfOrders(20, undefined, { subaccountId: sub.id }));
await call('getImpactData', sdk.getImpactData({ from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-02-01T00:00:00Z') }));
await call('getImpactHostedPageConfig', sdk.getImpactHostedPageConfig({ subaccountId: sub.id }));
await call('getListOfPortfolios', sdk.getListOfPortfolios());
await call('getPortfolioDetails', sdk.getPortfolioDetails('oH5hlq'));
await call('getProjectDetails', sdk.getProjectDetails('I0UbDH'));
await call('getProjectCategoryDetails', sdk.getProjectCategoryDetails('hkgyn3'));
const checkout = { email: 'buyer@example.com', amount_kg: 50, success_url: 'https://shop.example.com/ok?s={CHECKOUT_SESSION_ID}', cancel_url: 'https://shop.example.com/cart' };
const session = await call('createCheckoutSession', sdk.createCheckoutSession(checkout));
await call('getCheckoutSession', sdk.getCheckoutSession(session.id));
await call('subaccountCheckoutSession', sdk.createCheckoutSession({ ...checkout, description: 'gift' }, { subaccountId: sub.id }));
await call('checkoutWithoutEmail', sdk.createCheckoutSession({ ...checkout, email: undefined }));
await call('checkoutTooCheap', sdk.createCheckoutSession({ ...checkout, amount_kg: 1 }));
await call('missingCheckoutSession', sdk.getCheckoutSession('nope'));
await call('unauthorized', client('').getListOfPortfolios());
process.stdout.write(JSON.stringify(results));
