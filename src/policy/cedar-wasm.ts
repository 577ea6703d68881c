// The one import of the Cedar WebAssembly build. Everything else in the policy plane goes through here,
// so the binding (nodejs flavour: synchronous, loaded at import) is chosen in one place.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

export { cedar };
export type {
  AuthorizationAnswer,
  CedarValueJson,
  DetailedError,
  EntityJson,
  EntityUidJson,
  Expr,
  PolicyJson,
  SchemaJson,
  TypeAndId,
} from '@cedar-policy/cedar-wasm/nodejs';

/** Cedar's own error text, kept verbatim so a rejected policy shows the author what Cedar said. */
export function cedarErrorText(errors: readonly { message: string; help?: string | null }[]): string {
  return errors.map((e) => (e.help ? `${e.message} (${e.help})` : e.message)).join('; ');
}
