// Principals handed out from caches are shared between requests: freezing them turns an
// accidental mutation by a later stage into a TypeError instead of a privilege change.
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
