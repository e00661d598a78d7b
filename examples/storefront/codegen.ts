// graphql-codegen's client preset: TypeScript types for the checkout operations, from the
// gateway's committed SDL, and the trusted documents manifest the gateway loads
// (src/__generated__/persisted-documents.json: {"sha256:<hash>": "<document>"}).
// SCHEMA lets a copy of this folder point elsewhere (the test does); the default is the repo's.
import { addTypenameSelectionDocumentTransform, type ClientPresetConfig } from "@graphql-codegen/client-preset";
import type { CodegenConfig } from "@graphql-codegen/cli";

const presetConfig: ClientPresetConfig = {
  // Spell the algorithm out: older client-preset releases default to sha1, which the
  // gateway refuses (it checks each id is the sha256 of its document).
  persistedDocuments: { hashAlgorithm: "sha256" },
  fragmentMasking: false,
};

const config: CodegenConfig = {
  schema: process.env["SCHEMA"] ?? "../../schema/schema.graphql",
  documents: "operations/*.graphql",
  emitLegacyCommonJSImports: false, // `./graphql.js` imports, as "module": "NodeNext" wants
  generates: {
    "src/__generated__/": {
      preset: "client",
      presetConfig,
      // The manifest holds the documents as Apollo Client's cache needs them (__typename).
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        // String unions, not TS enums: no runtime code, and a status the gateway adds later
        // (its enums end in UNKNOWN for that) only widens the union.
        enumsAsTypes: true,
        useTypeImports: true,
        defaultScalarType: "unknown",
        scalars: { DateTime: "string", JSON: "unknown" },
      },
    },
  },
};

export default config;
