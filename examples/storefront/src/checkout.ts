// The payment step of a checkout page, against medusa-graphql-gateway, with Apollo Client:
// offer the region's payment providers, then create a payment session with the first one.
// Every document and result is typed by graphql-codegen (src/__generated__/, `npm run codegen`).
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql REGION_ID=reg_... PAYMENT_COLLECTION_ID=pay_col_... \
//   PUBLISHABLE_KEY=pk_... npm run checkout
//
// Prints one JSON line: what the page would render (and the session id a retry got back).
import { randomUUID } from "node:crypto";

import {
  CreatePaymentSessionDocument,
  PaymentProvidersDocument,
  type CheckoutPaymentSessionFragment,
  type PaymentSessionStatus,
} from "./__generated__/graphql.js";
import { storefrontClient } from "./client.js";

function setting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) {
    throw new Error(`set ${name} (the gateway prints the sandbox's ids at start-up)`);
  }
  return value;
}

const uri = setting("GATEWAY_URL", "http://127.0.0.1:8000/graphql");
const regionId = setting("REGION_ID");
const paymentCollectionId = setting("PAYMENT_COLLECTION_ID");
// A storefront sends its publishable key; without one the gateway uses GATEWAY_PUBLISHABLE_KEY.
const key = process.env["PUBLISHABLE_KEY"];

const client = storefrontClient(uri, key);

const providers = await client.query({ query: PaymentProvidersDocument, variables: { regionId } });
const enabled = (providers.data?.paymentProviders ?? []).filter((p) => p.isEnabled !== false);
const chosen = enabled[0];
if (chosen === undefined) {
  throw new Error(`no payment provider is enabled in region ${regionId}`);
}

// One idempotency key per checkout attempt: a retry with it (a double click, a network error)
// gets the same session back instead of replacing it (which would kill its client_secret).
const idempotencyKey = process.env["IDEMPOTENCY_KEY"] ?? randomUUID();
const pay = () =>
  client.mutate({
    mutation: CreatePaymentSessionDocument,
    variables: { input: { paymentCollectionId, providerId: chosen.id, idempotencyKey } },
  });
const created = await pay();
// Retry on purpose, as a page would after a timeout: the gateway replays the first answer.
const retried = await pay();
const payload = created.data?.createPaymentSession;
const session: CheckoutPaymentSessionFragment | null | undefined = payload?.paymentSession;
if (payload === undefined || session == null) {
  throw new Error("the gateway created no payment session");
}
const status: PaymentSessionStatus | null = session.status;

console.log(
  JSON.stringify({
    providers: enabled.map((p) => p.id),
    paymentCollectionId: payload.paymentCollection.id,
    amount: payload.paymentCollection.amount,
    currencyCode: payload.paymentCollection.currencyCode,
    sessionIds: (payload.paymentCollection.paymentSessions ?? []).map((s) => s.id),
    sessionId: session.id,
    retriedSessionId: retried.data?.createPaymentSession.paymentSession?.id ?? null,
    providerId: session.providerId,
    status,
  }),
);
