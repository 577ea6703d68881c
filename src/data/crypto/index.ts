// Envelope encryption for content at rest (docs/data-encryption.md).
export { EnvelopeTampered, KekUnavailable, KeyFileInsecure, LegacyEnvelope } from './errors.js';
export type { KeyEncryptionKey } from './kek.js';
export { KEY_BYTES, createKeyFile, loadOrCreateKeyFile, readKeyFile } from './key-file.js';
export { LocalFileKek, fileKekId } from './local-kek.js';
export { Pkcs11Kek, type Pkcs11KekConfig } from './pkcs11-kek.js';
export { VaultTransitKek, type VaultTransitConfig } from './vault-transit-kek.js';
export { Keyring, WithdrawnKek, openBlob, openWithDataKey, parseWrappedKey, sealBlob, sealWithDataKey, type KeyringOptions } from './keyring.js';
export { DATA_KEK_FILE, SUBJECT_KEYS_FILE, keyringFromConfig, openKek, subjectKeysFile } from './from-config.js';
export { SubjectErased, SubjectKeys, SubjectKeysUnavailable, sealedSubject } from './subject-keys.js';
