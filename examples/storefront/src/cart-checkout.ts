// The payment step from a cart id, as Medusa's js-sdk `initiatePaymentSession` does it:
// read the cart's payment collection, initiate a session for the cart, read it again.
//
//   GATEWAY_URL=http://127.0.0.1:8000/graphql CART_ID=cart_... PUBLISHABLE_KEY=pk_... \
//   npm run cart-checkout
//
// Prints one JSON line: the collection before and after, and the session created.
import {
  CartPaymentDocument,
  InitiatePaymentSessionDocument,
  type CheckoutPaymentSessionFragment,
} from "./__generated__/graphql.js";
import { storefrontClient } from "./client.js";

const uri = process.env["GATEWAY_URL"] ?? "http://127.0.0.1:8000/graphql";
const cartId = process.env["CART_ID"];
if (!cartId) {
  throw new Error("set CART_ID (the gateway prints the sandbox's demo cart at start-up)");
}
const key = process.env["PUBLISHABLE_KEY"];

const client = storefrontClient(uri, key);

const before = await client.query({
  query: CartPaymentDocument,
  variables: { cartId },
  fetchPolicy: "network-only",
});
const initiated = await client.mutate({
  mutation: InitiatePaymentSessionDocument,
  variables: { input: { cartId, providerId: "pp_system_default", data: { from: "storefront" } } },
});
const session: CheckoutPaymentSessionFragment | null | undefined =
  initiated.data?.initiatePaymentSession.paymentSession;
if (session == null) {
  throw new Error("the gateway created no payment session");
}
const after = await client.query({
  query: CartPaymentDocument,
  variables: { cartId },
  fetchPolicy: "network-only",
});
const collection = after.data?.cartPaymentCollection;

console.log(
  JSON.stringify({
    before: before.data?.cartPaymentCollection ?? null,
    collectionId: collection?.id ?? null,
    amount: collection?.amount ?? null,
    sessionIds: (collection?.paymentSessions ?? []).map((s) => s.id),
    sessionId: session.id,
    status: session.status,
  }),
);
