// The key-encryption key (KEK) contract. Data keys (AES-256) are wrapped by a KEK and only the wrapped form is
// ever stored; the KEK stays where its provider keeps it (a key file, a PKCS#11 token, a cloud KMS, Vault
// transit). A provider only wraps and unwraps 32-byte data keys, bound to a context string that names what the
// key protects, so a wrapped key moved to another record no longer opens.
//
// A cloud KMS or Vault transit provider implements this interface with the service's own calls. Vault transit is
// built in (vault-transit-kek.ts); the cloud KMSs are not (docs/data-encryption.md "KEK providers"):
//   AWS KMS        wrap: Encrypt{KeyId, Plaintext, EncryptionContext: {warden: context}}
//                  unwrap: Decrypt{CiphertextBlob, KeyId, EncryptionContext}
//   GCP Cloud KMS  wrap: encrypt{name, plaintext, additionalAuthenticatedData: context}; unwrap: decrypt{…}
//   Azure Key Vault wrapKey/unwrapKey (RSA-OAEP-256) with the context kept in Warden's AAD of the data it seals
//   Vault transit  wrap: POST transit/encrypt/:name {plaintext, context} (derived keys); unwrap: transit/decrypt
// `id` must be stable for the key (not for its location), and every failure to reach the service must throw
// KekUnavailable: Warden then refuses to read or write what the key protects.

export interface KeyEncryptionKey {
  /** Stable identifier stored with every wrapped key (`file:…`, `pkcs11:token/label`, `kms:arn…`). */
  readonly id: string;
  /** Wraps a 32-byte data key; the result is opaque to Warden and stored as is. */
  wrap(dataKey: Buffer, context: string): Promise<Buffer>;
  /** Unwraps; throws EnvelopeTampered when the blob does not authenticate, KekUnavailable when the key is gone. */
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>;
  /**
   * Moves a wrapped key to the newest version of this same KEK inside the service (Vault transit's rewrap), the
   * data key never leaving it; null when it is already there. Absent: a KEK without versions of its own.
   */
  rewrapInPlace?(wrapped: Buffer, context: string): Promise<Buffer | null>;
  /** Releases sessions or handles. */
  close?(): void;
}
