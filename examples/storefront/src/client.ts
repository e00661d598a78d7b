// The storefront's Apollo Client: it sends each operation by id only (trusted documents).
//
// graphql-codegen's client preset writes every document with its sha256 in `__meta__.hash`, and
// the same ids into src/__generated__/persisted-documents.json, which the gateway loads
// (GATEWAY_TRUSTED_DOCUMENTS). The persisted-query link sends the id instead of the text, and
// `retry: () => false` stops it from ever falling back to the text: a gateway in `require-id`
// mode would refuse it, and an id it does not know is a deploy mistake to see, not to paper over.
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import type { DocumentNode } from "graphql";

function documentId(document: DocumentNode): string {
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!hash) {
    throw new Error("this document has no id: run `npm run codegen` (persistedDocuments)");
  }
  return hash;
}

export function storefrontClient(uri: string, publishableKey?: string): ApolloClient {
  const http = new HttpLink({
    uri,
    headers: publishableKey ? { "x-publishable-api-key": publishableKey } : {},
  });
  const byId = new PersistedQueryLink({ generateHash: documentId, retry: () => false });
  return new ApolloClient({ link: byId.concat(http), cache: new InMemoryCache() });
}
